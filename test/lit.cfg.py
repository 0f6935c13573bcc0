# -*- Python -*-
import os
import shutil
import subprocess

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "HSSM"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.hssm_obj_root, "test")
config.excludes = ["CMakeLists.txt", "Inputs", "README.txt", "lit.cfg.py",
                   "lit.site.cfg.py", "Inputs"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%hssm_src_root", config.hssm_src_root))
config.environment["FILECHECK_OPTS"] = "-enable-var-scope"

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP",
                                     "CUDA_VISIBLE_DEVICES"])
llvm_config.use_default_substitutions()
# FileCheck, not and count come from the LLVM install.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.hssm_tools_dir, append_path=True)

tool_dirs = [config.hssm_tools_dir, config.llvm_tools_dir]
tools = ["hssm-opt",
         ToolSubst("hssm-run", unresolved="ignore"),
         ToolSubst("hssm-jit-tests", unresolved="ignore"),
         ToolSubst("hssm-compile", unresolved="ignore"),
         ToolSubst("hssm-unittests", unresolved="ignore"),
         ToolSubst("hssm-serving-tests", unresolved="ignore")]
llvm_config.add_tool_substitutions(tools, tool_dirs)


def has_cuda_device():
    """True where a CUDA GPU answers: nvidia-smi lists one."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True,
                             timeout=20)
    except Exception:
        return False
    return out.returncode == 0 and "GPU" in out.stdout


if has_cuda_device():
    config.available_features.add("cuda")
