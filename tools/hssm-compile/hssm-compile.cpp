//===- hssm-compile.cpp - Ahead-of-time compilation of hssm functions -----===//
//
// Turns a .mlir file into a shared object that a program linked with the
// runtime alone loads (hssm::Artifact) and runs: no LLVM where it runs.
// For every public function F the object exports
//   void hssm_packed_F(void **args)   the packed entry point (Args.h)
//   const char hssm_signature_F[]     what F takes (Args.h's signature text)
// With --target=cuda the kernels are PTX inside the object, loaded by the
// runtime's mgpu* functions when the object is loaded.
//
//===----------------------------------------------------------------------===//

#include "hssm/Dialect/HSSM/HSSMDialect.h"
#include "hssm/Runtime/Args.h"
#include "hssm/Transforms/Passes.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;

static llvm::cl::opt<std::string> inputFile(llvm::cl::Positional,
                                            llvm::cl::desc("<input .mlir>"),
                                            llvm::cl::Required);
static llvm::cl::opt<std::string> outputFile("o", llvm::cl::desc("Output"),
                                             llvm::cl::Required);
static llvm::cl::opt<std::string>
    target("target", llvm::cl::desc("cpu or cuda (default cuda)"),
           llvm::cl::init("cuda"));
static llvm::cl::opt<std::string>
    emit("emit", llvm::cl::desc("so (default), obj or llvm"),
         llvm::cl::init("so"));
static llvm::cl::opt<std::string> chip("chip", llvm::cl::desc("GPU chip"),
                                       llvm::cl::init("sm_90"));
static llvm::cl::opt<std::string> gpuOptions(
    "gpu-options",
    llvm::cl::desc("Options of hssm-lower-to-nvvm, e.g. \"block-size=256 "
                   "conv-channels=4\" (--chip wins over chip=)"),
    llvm::cl::init(""));
static llvm::cl::opt<std::string> linker("linker",
                                         llvm::cl::desc("Driver for -shared"),
                                         llvm::cl::init("c++"));

namespace {

int fail(const llvm::Twine &message) {
  llvm::errs() << "hssm-compile: " << message << "\n";
  return 1;
}

/// What the caller passes to `func`, as Args.h's signature text.
std::optional<std::string> signatureOf(func::FuncOp func) {
  std::vector<::hssm::ArgSpec> specs;
  for (Type input : func.getFunctionType().getInputs()) {
    ::hssm::ArgSpec spec;
    if (auto memref = dyn_cast<MemRefType>(input)) {
      Type e = memref.getElementType();
      if (e.isF32()) spec.elem = ::hssm::Elem::F32;
      else if (e.isF16()) spec.elem = ::hssm::Elem::F16;
      else if (e.isBF16()) spec.elem = ::hssm::Elem::BF16;
      else if (e.isInteger(32)) spec.elem = ::hssm::Elem::I32;
      else if (e.isInteger(8)) spec.elem = ::hssm::Elem::I8;
      else if (e.isInteger(64)) spec.elem = ::hssm::Elem::I64;
      else return std::nullopt;
      if (!memref.getLayout().isIdentity())
        return std::nullopt;
      spec.isBuffer = true;
      for (int64_t d : memref.getShape())
        spec.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
    } else if (!input.isIndex() && !input.isInteger(64)) {
      return std::nullopt;
    }
    specs.push_back(spec);
  }
  return ::hssm::formatSignature(specs);
}

/// Adds `void hssm_packed_<name>(ptr args)`: args[i] is the address of the
/// i-th flattened parameter of <name>.
void addPackedEntry(llvm::Module &module, llvm::Function &fn,
                    const std::string &signature) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr},
                                       /*isVarArg=*/false);
  auto *entry = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage,
                                       "hssm_packed_" + fn.getName(), module);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", entry));
  std::vector<llvm::Value *> args;
  for (auto [i, param] : llvm::enumerate(fn.args())) {
    llvm::Value *slot = b.CreateGEP(ptr, entry->getArg(0), b.getInt64(i));
    llvm::Value *address = b.CreateLoad(ptr, slot);
    args.push_back(b.CreateLoad(param.getType(), address));
  }
  b.CreateCall(&fn, args);
  b.CreateRetVoid();

  auto *text = llvm::ConstantDataArray::getString(ctx, signature, true);
  new llvm::GlobalVariable(module, text->getType(), /*isConstant=*/true,
                           llvm::GlobalValue::ExternalLinkage, text,
                           "hssm_signature_" + fn.getName());
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::cl::ParseCommandLineOptions(argc, argv, "hssm ahead-of-time compiler\n");
  if (target != "cpu" && target != "cuda")
    return fail("--target must be cpu or cuda, got '" + target + "'");
  if (emit != "so" && emit != "obj" && emit != "llvm")
    return fail("--emit must be so, obj or llvm, got '" + emit + "'");
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();

  DialectRegistry registry;
  registry.insert<mlir::hssm::HSSMDialect>();
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registerAllGPUToLLVMIRTranslations(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  llvm::SourceMgr sources;
  SourceMgrDiagnosticHandler diagnostics(sources, &context);
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(inputFile, sources, ParserConfig(&context));
  if (!module)
    return 1;

  std::map<std::string, std::string> signatures;
  for (func::FuncOp func : module->getOps<func::FuncOp>()) {
    if (func.isExternal() || func.isPrivate())
      continue;
    std::optional<std::string> sig = signatureOf(func);
    if (!sig)
      return fail("function '" + func.getSymName() +
                  "' takes an argument that is not a dense memref of "
                  "f32/f16/bf16/i32/i8/i64, an index or an i64");
    signatures[func.getSymName().str()] = *sig;
  }

  PassManager pm(&context);
  if (target == "cpu") {
    mlir::hssm::buildLowerToCpuPipeline(pm);
  } else {
    mlir::hssm::NvvmPipelineOptions options;
    if (failed(options.parseFromString(gpuOptions)))
      return fail("bad --gpu-options '" + gpuOptions + "'");
    options.chip = chip;
    mlir::hssm::buildLowerToNvvmPipeline(pm, options);
  }
  if (failed(pm.run(*module)))
    return fail("lowering failed");

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(*module, llvmContext, "hssm");
  if (!llvmModule)
    return fail("translation to LLVM IR failed");
  for (auto &[name, sig] : signatures) {
    llvm::Function *fn = llvmModule->getFunction(name);
    if (!fn)
      return fail("function '" + name + "' vanished during lowering");
    addPackedEntry(*llvmModule, *fn, sig);
  }

  std::string error;
  llvm::Triple triple(llvm::sys::getProcessTriple());
  const llvm::Target *llvmTarget =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!llvmTarget)
    return fail(error);
  llvm::TargetOptions targetOptions;
  std::unique_ptr<llvm::TargetMachine> machine(llvmTarget->createTargetMachine(
      triple, "x86-64", "", targetOptions,
      llvm::Reloc::PIC_));
  llvmModule->setDataLayout(machine->createDataLayout());
  llvmModule->setTargetTriple(triple);
  if (llvm::Error err =
          makeOptimizingTransformer(3, 0, machine.get())(llvmModule.get()))
    return fail(llvm::toString(std::move(err)));

  if (emit == "llvm") {
    std::error_code ec;
    llvm::raw_fd_ostream os(outputFile, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return fail("cannot write '" + outputFile + "': " + ec.message());
    llvmModule->print(os, nullptr);
    return 0;
  }

  std::string objectPath = emit == "obj" ? outputFile.getValue()
                                         : outputFile.getValue() + ".o";
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(objectPath, ec, llvm::sys::fs::OF_None);
    if (ec)
      return fail("cannot write '" + objectPath + "': " + ec.message());
    llvm::legacy::PassManager codegen;
    if (machine->addPassesToEmitFile(codegen, os, nullptr,
                                     llvm::CodeGenFileType::ObjectFile))
      return fail("the target cannot emit object files");
    codegen.run(*llvmModule);
  }
  if (emit == "obj")
    return 0;

  // A shared object: mgpu* symbols stay undefined and bind to the runtime
  // of the program that loads it.
  auto driver = llvm::sys::findProgramByName(linker);
  if (!driver)
    return fail("cannot find the linker driver '" + linker + "'");
  std::string driverPath = *driver;
  std::vector<llvm::StringRef> args = {driverPath, "-shared", "-o",
                                       outputFile, objectPath};
  int rc = llvm::sys::ExecuteAndWait(driverPath, args, std::nullopt, {}, 0, 0,
                                     &error);
  llvm::sys::fs::remove(objectPath);
  if (rc != 0)
    return fail("linking '" + outputFile + "' failed: " + error);
  return 0;
}
