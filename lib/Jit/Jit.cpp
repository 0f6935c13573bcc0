//===- Jit.cpp - Compile hssm IR in-process and call it -------------------===//
//
// Parse and verify, run hssm-lower-to-cpu, hand the LLVM dialect to MLIR's
// ExecutionEngine, and call the packed entry point (`_mlir_<name>`), whose
// arguments are the addresses of the flattened memref descriptors.
//
//===----------------------------------------------------------------------===//

#include "hssm/Jit/Jit.h"
#include "hssm/Dialect/HSSM/HSSMDialect.h"
#include "hssm/Transforms/Passes.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/Support/TargetSelect.h"

#include <functional>
#include <map>
#include <mutex>

using namespace hssm;
using namespace hssm::jit;

const char *hssm::jit::elemName(Elem e) {
  switch (e) {
  case Elem::F32: return "f32";
  case Elem::F16: return "f16";
  case Elem::BF16: return "bf16";
  case Elem::I32: return "i32";
  case Elem::I8: return "i8";
  case Elem::I64: return "i64";
  }
  return "?";
}

namespace {

/// What the caller must pass for one argument.
struct ArgSpec {
  bool isBuffer = false;
  std::vector<int64_t> shape; ///< mlir::ShapedType::kDynamic where dynamic
  Elem elem = Elem::F32;
};

std::optional<Elem> toElem(mlir::Type t) {
  if (t.isF32()) return Elem::F32;
  if (t.isF16()) return Elem::F16;
  if (t.isBF16()) return Elem::BF16;
  if (t.isInteger(32)) return Elem::I32;
  if (t.isInteger(8)) return Elem::I8;
  if (t.isInteger(64)) return Elem::I64;
  return std::nullopt;
}

/// Collects every diagnostic of a scope into one message.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(mlir::MLIRContext &ctx)
      : handler(&ctx, [this](mlir::Diagnostic &diag) {
          llvm::raw_string_ostream os(text);
          if (!text.empty())
            os << "\n";
          os << diag.getLocation() << ": " << diag;
          for (mlir::Diagnostic &note : diag.getNotes())
            os << "\n  note: " << note;
          return mlir::success();
        }) {}
  std::string take(const std::string &fallback) {
    return text.empty() ? fallback : text;
  }

private:
  std::string text;
  mlir::ScopedDiagnosticHandler handler;
};

} // namespace

/// An engine and the optimizing transformer it calls whenever it
/// materializes code: the engine keeps only a reference to it, so both live
/// and die together (the engine first).
struct CompiledModule {
  std::function<llvm::Error(llvm::Module *)> transformer;
  std::unique_ptr<mlir::ExecutionEngine> engine;
};

struct Function::Impl {
  std::shared_ptr<CompiledModule> engine;
  std::string name;
  std::vector<ArgSpec> args;
};

struct Jit::Impl {
  Options options;
  mlir::MLIRContext context;
  std::mutex mutex;
  /// Printed IR -> engine holding every function of that module.
  std::map<std::string, std::shared_ptr<CompiledModule>> cache;

  static mlir::DialectRegistry makeRegistry() {
    mlir::DialectRegistry registry;
    registry.insert<mlir::hssm::HSSMDialect>();
    mlir::registerAllDialects(registry);
    mlir::registerAllExtensions(registry);
    mlir::registerBuiltinDialectTranslation(registry);
    mlir::registerLLVMDialectTranslation(registry);
    return registry;
  }
  explicit Impl(Options options)
      : options(options), context(makeRegistry()) {
    context.loadAllAvailableDialects();
  }
};

Jit::Jit(Options options) : impl(std::make_unique<Impl>(options)) {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}
Jit::~Jit() = default;

size_t Jit::numCompiled() const { return impl->cache.size(); }

Status Jit::compile(const std::string &source, const std::string &name,
                    Function &out) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  mlir::MLIRContext &ctx = impl->context;
  DiagnosticCollector diags(ctx);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(source, &ctx);
  if (!module)
    return Status::error("hssm jit: the IR does not parse or verify:\n" +
                         diags.take("(no diagnostic)"));

  auto func = module->lookupSymbol<mlir::func::FuncOp>(name);
  if (!func || func.isExternal()) {
    std::string known;
    module->walk([&](mlir::func::FuncOp f) {
      if (!f.isExternal())
        known += (known.empty() ? "" : ", ") + f.getSymName().str();
    });
    return Status::error("hssm jit: no function named '" + name +
                         "' in the module (it defines: " + known + ")");
  }
  mlir::FunctionType type = func.getFunctionType();
  if (type.getNumResults() != 0)
    return Status::error("hssm jit: function '" + name +
                         "' returns values; hssm functions write into their "
                         "buffer arguments and return nothing");
  auto spec = std::make_shared<Function::Impl>();
  spec->name = name;
  for (auto [i, input] : llvm::enumerate(type.getInputs())) {
    ArgSpec arg;
    if (auto memref = llvm::dyn_cast<mlir::MemRefType>(input)) {
      std::optional<Elem> elem = toElem(memref.getElementType());
      if (!elem || !memref.getLayout().isIdentity())
        return Status::error("hssm jit: argument " + std::to_string(i) +
                             " of '" + name +
                             "' must be a dense memref of f32, f16, bf16, "
                             "i32, i8 or i64");
      arg.isBuffer = true;
      arg.elem = *elem;
      arg.shape.assign(memref.getShape().begin(), memref.getShape().end());
    } else if (!input.isIndex() && !input.isInteger(64)) {
      return Status::error("hssm jit: argument " + std::to_string(i) +
                           " of '" + name + "' must be a memref, index or i64");
    }
    spec->args.push_back(std::move(arg));
  }

  std::string key;
  {
    llvm::raw_string_ostream os(key);
    module->print(os, mlir::OpPrintingFlags().printGenericOpForm());
  }
  auto cached = impl->cache.find(key);
  if (cached != impl->cache.end()) {
    spec->engine = cached->second;
    out = Function(std::move(spec));
    return Status::success();
  }

  mlir::PassManager pm(&ctx);
  mlir::hssm::buildLowerToCpuPipeline(pm);
  if (mlir::failed(pm.run(*module)))
    return Status::error("hssm jit: lowering '" + name + "' failed:\n" +
                         diags.take("(no diagnostic)"));

  auto compiled = std::make_shared<CompiledModule>();
  compiled->transformer = mlir::makeOptimizingTransformer(
      impl->options.optLevel, /*sizeLevel=*/0, /*targetMachine=*/nullptr);
  mlir::ExecutionEngineOptions engineOptions;
  engineOptions.transformer = compiled->transformer;
  auto engine = mlir::ExecutionEngine::create(*module, engineOptions);
  if (!engine)
    return Status::error("hssm jit: code generation failed: " +
                         llvm::toString(engine.takeError()));
  compiled->engine = std::move(*engine);
  // Materialize now, so that code generation errors surface here and the
  // first call is not the one that pays for it.
  if (auto entry = compiled->engine->lookupPacked(name); !entry)
    return Status::error("hssm jit: code generation failed for '" + name +
                         "': " + llvm::toString(entry.takeError()));
  std::shared_ptr<CompiledModule> shared = std::move(compiled);
  impl->cache.emplace(std::move(key), shared);
  spec->engine = std::move(shared);
  out = Function(std::move(spec));
  return Status::success();
}

Function::Function() = default;
Function::~Function() = default;
Function::Function(const Function &) = default;
Function &Function::operator=(const Function &) = default;
Function::Function(std::shared_ptr<const Impl> impl) : impl(std::move(impl)) {}

const std::string &Function::name() const {
  static const std::string empty;
  return impl ? impl->name : empty;
}
size_t Function::numArgs() const { return impl ? impl->args.size() : 0; }

static std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + (mlir::ShapedType::isDynamic(shape[i])
                                ? std::string("?")
                                : std::to_string(shape[i]));
  return s + "]";
}

Status Function::call(const std::vector<Arg> &args) const {
  if (!impl)
    return Status::error("hssm jit: calling an empty Function");
  const std::string &fn = impl->name;
  if (args.size() != impl->args.size())
    return Status::error("hssm jit: '" + fn + "' takes " +
                         std::to_string(impl->args.size()) +
                         " arguments, got " + std::to_string(args.size()));

  // Each memref becomes {allocated, aligned, offset, sizes..., strides...};
  // the packed entry point takes the address of every field.
  size_t fields = 0;
  for (const ArgSpec &spec : impl->args)
    fields += spec.isBuffer ? 3 + 2 * spec.shape.size() : 1;
  std::vector<int64_t> storage(fields);
  std::vector<void *> packed(fields);
  size_t next = 0;
  auto push = [&](int64_t v) {
    storage[next] = v;
    packed[next] = &storage[next];
    ++next;
  };

  for (size_t i = 0; i < args.size(); ++i) {
    const ArgSpec &spec = impl->args[i];
    std::string where = "argument " + std::to_string(i) + " of '" + fn + "'";
    if (!spec.isBuffer) {
      if (!std::holds_alternative<int64_t>(args[i]))
        return Status::error("hssm jit: " + where +
                             " is an integer, got a buffer");
      push(std::get<int64_t>(args[i]));
      continue;
    }
    if (!std::holds_alternative<Buffer>(args[i]))
      return Status::error("hssm jit: " + where +
                           " is a buffer, got an integer");
    const Buffer &buf = std::get<Buffer>(args[i]);
    if (buf.elem != spec.elem)
      return Status::error("hssm jit: " + where + " holds " +
                           elemName(spec.elem) + ", got " +
                           elemName(buf.elem));
    if (buf.shape.size() != spec.shape.size())
      return Status::error("hssm jit: " + where + " has rank " +
                           std::to_string(spec.shape.size()) + ", got shape " +
                           shapeString(buf.shape));
    int64_t elems = 1;
    for (size_t d = 0; d < buf.shape.size(); ++d) {
      if (buf.shape[d] < 0 ||
          (!mlir::ShapedType::isDynamic(spec.shape[d]) &&
           spec.shape[d] != buf.shape[d]))
        return Status::error("hssm jit: " + where + " must have shape " +
                             shapeString(spec.shape) + ", got " +
                             shapeString(buf.shape));
      elems *= buf.shape[d];
    }
    if (!buf.data && elems != 0)
      return Status::error("hssm jit: " + where + " has no data pointer");
    push(reinterpret_cast<intptr_t>(buf.data));
    push(reinterpret_cast<intptr_t>(buf.data));
    push(0);
    for (int64_t size : buf.shape)
      push(size);
    int64_t stride = 1;
    std::vector<int64_t> strides(buf.shape.size());
    for (size_t d = buf.shape.size(); d-- > 0;) {
      strides[d] = stride;
      stride *= buf.shape[d];
    }
    for (int64_t s : strides)
      push(s);
  }

  llvm::Error err = impl->engine->engine->invokePacked(fn, packed);
  if (err)
    return Status::error("hssm jit: calling '" + fn +
                         "' failed: " + llvm::toString(std::move(err)));
  return Status::success();
}
