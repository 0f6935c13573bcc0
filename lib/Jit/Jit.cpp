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
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/Support/TargetSelect.h"

#ifdef HSSM_HAVE_CUDA
#include "hssm/Runtime/Cuda.h"
#endif

#include <functional>
#include <map>
#include <mutex>

using namespace hssm;
using namespace hssm::jit;

namespace {

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

/// The first error the CUDA runtime recorded (module loads and launches
/// happen inside compiled code, which cannot return errors).
static Status deviceError() {
#ifdef HSSM_HAVE_CUDA
  return hssm::cuda::takeError();
#else
  return Status::success();
#endif
}

bool hssm::jit::targetAvailable(Target target) {
#ifdef HSSM_HAVE_CUDA
  return target == Target::Cpu || hssm::cuda::available();
#else
  return target == Target::Cpu;
#endif
}

struct Function::Impl {
  std::shared_ptr<CompiledModule> engine;
  bool onDevice = false;
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
    // gpu.binary ops and the NVVM target need their translations too.
    mlir::registerAllToLLVMIRTranslations(registry);
    mlir::registerAllGPUToLLVMIRTranslations(registry);
    mlir::NVVM::registerNVVMTargetInterfaceExternalModels(registry);
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
      for (int64_t d : memref.getShape())
        arg.shape.push_back(mlir::ShapedType::isDynamic(d) ? -1 : d);
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
  key += impl->options.target == Target::Cuda ? "\n// cuda " + impl->options.chip
                                              : "\n// cpu";
  spec->onDevice = impl->options.target == Target::Cuda;
  auto cached = impl->cache.find(key);
  if (cached != impl->cache.end()) {
    spec->engine = cached->second;
    out = Function(std::move(spec));
    return Status::success();
  }

  bool cuda = impl->options.target == Target::Cuda;
  if (!targetAvailable(impl->options.target))
    return Status::error("hssm jit: the CUDA target needs a build with the "
                         "CUDA runtime and a GPU; none was found");
  mlir::PassManager pm(&ctx);
  if (cuda) {
    mlir::hssm::NvvmPipelineOptions nvvm;
    nvvm.chip = impl->options.chip;
    nvvm.optLevel = impl->options.optLevel;
    mlir::hssm::buildLowerToNvvmPipeline(pm, nvvm);
  } else {
    mlir::hssm::buildLowerToCpuPipeline(pm);
  }
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
  // Global constructors load the kernels (mgpuModuleLoadJIT).
  (void)deviceError();
  compiled->engine->initialize();
  if (Status st = deviceError(); !st)
    return Status::error("hssm jit: loading the kernels of '" + name +
                         "' failed: " + st.message());
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

std::string Function::signature() const {
  return impl ? formatSignature(impl->args) : std::string();
}

Status Function::call(const std::vector<Arg> &args) const {
  if (!impl)
    return Status::error("hssm jit: calling an empty Function");
  PackedArgs packed;
  if (Status st = packArguments(impl->name, impl->args, args, packed); !st)
    return Status::error("hssm jit: " + st.message());
  if (impl->onDevice)
    (void)deviceError();
  llvm::Error err =
      impl->engine->engine->invokePacked(impl->name, packed.pointers);
  if (err)
    return Status::error("hssm jit: calling '" + impl->name +
                         "' failed: " + llvm::toString(std::move(err)));
  if (impl->onDevice)
    if (Status st = deviceError(); !st)
      return Status::error("hssm jit: '" + impl->name +
                           "' on the GPU: " + st.message());
  return Status::success();
}
