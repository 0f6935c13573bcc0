//===- JitTestSupport.h - A shared JIT for the CPU test suites --*- C++ -*-===//
#ifndef HSSM_UNITTESTS_JITTESTSUPPORT_H
#define HSSM_UNITTESTS_JITTESTSUPPORT_H

#include "hssm/Harness/BranchSource.h"
#include "hssm/Jit/Jit.h"

#include <gtest/gtest.h>

namespace hssm::testing {

/// One JIT per test program: functions are cached by their IR. Leaked on
/// purpose: LLVM's own globals may be gone when static destructors run.
inline jit::Jit &sharedJit() {
  static jit::Jit *jit = new jit::Jit;
  return *jit;
}

/// The history branch of `config`, compiled for the CPU (a failure fails the
/// calling test).
inline Invoker compileBranch(const BranchConfig &config) {
  jit::Function fn;
  Status st =
      sharedJit().compile(historyBranchSource(config), "history_branch", fn);
  EXPECT_TRUE(st.ok()) << st.message();
  return fn.invoker();
}

} // namespace hssm::testing

#endif // HSSM_UNITTESTS_JITTESTSUPPORT_H
