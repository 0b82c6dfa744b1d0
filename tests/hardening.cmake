# SPDX-License-Identifier: Apache-2.0
# The hardening tests (issue 7): injected OpenCL faults, many threads, fuzzed arguments replayed,
# huge sizes. Included from tests/CMakeLists.txt; tools/ci-hardening.sh runs them under
# AddressSanitizer, UndefinedBehaviorSanitizer, LeakSanitizer and valgrind as well.

# tests/clfault: the OpenCL interposer. It must come before libOpenCL in the executable's
# search order, so it is a shared library linked first.
add_library(clfault SHARED clfault/clfault.c)
target_include_directories(clfault PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/clfault)
target_link_libraries(clfault PRIVATE OpenCL::OpenCL Threads::Threads ${CMAKE_DL_LIBS}
                                      clrelu_warnings)

add_executable(test_faults test_faults.c)
target_link_libraries(test_faults PRIVATE clfault clrelu_test_common clrelu_warnings)
target_compile_definitions(test_faults PRIVATE CLRELU_LIBRARY_PATH="$<TARGET_FILE:clrelu>")
clrelu_device_test(NAME faults COMMAND test_faults)
set_tests_properties(${CLRELU_LAST_DEVICE_TESTS} PROPERTIES TIMEOUT 900)

clrelu_test(test_threads)
target_link_libraries(test_threads PRIVATE Threads::Threads)
clrelu_device_test(NAME threads COMMAND test_threads)
set_tests_properties(${CLRELU_LAST_DEVICE_TESTS} PROPERTIES TIMEOUT 900)

# Past 2^31 elements and 2^31 bytes. Each needs several GiB of memory (and says SKIPPED when
# it is not there), so they never run beside each other or beside anything else.
clrelu_test(test_huge)
add_test(NAME huge_cpu COMMAND test_huge cpu)
set(huge_tests huge_cpu)
foreach(mode device-round-trip device-buffer)
  clrelu_device_test(NAME huge_${mode} COMMAND test_huge ${mode})
  list(APPEND huge_tests ${CLRELU_LAST_DEVICE_TESTS})
endforeach()
set_tests_properties(${huge_tests} PROPERTIES SKIP_RETURN_CODE 77 RUN_SERIAL TRUE TIMEOUT 1200)
set_property(TEST ${huge_tests} APPEND PROPERTY LABELS huge)

add_subdirectory(fuzz)
