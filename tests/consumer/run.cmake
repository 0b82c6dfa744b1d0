# SPDX-License-Identifier: Apache-2.0
# Run as `cmake -P` (tests/CMakeLists.txt does): installs the clrelu build in CLRELU_BUILD_DIR
# into a fresh prefix under WORK_DIR, then builds tests/consumer against that prefix alone and
# runs it, shared and static, the MODE way:
#   cmake       find_package(clrelu) and clrelu::clrelu / clrelu::clrelu_static
#   pkg-config  `pkg-config --cflags --libs clrelu`, and --static against libclrelu.a
# Inputs: CLRELU_BUILD_DIR SOURCE_DIR WORK_DIR MODE GENERATOR C_COMPILER LIBDIR PKG_CONFIG
#         VERSION CONFIG
cmake_minimum_required(VERSION 3.18)

# Runs a command; on failure stops with its output. OUT receives stdout.
function(step what out_var)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${ARGN}\n${out}\n${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

# Runs a consumer executable: it must exit 0 and say so.
function(run_consumer exe)
  step("running ${exe}" out ${exe})
  message(STATUS "${exe}:\n${out}")
  if(NOT out MATCHES "consumer: ok")
    message(FATAL_ERROR "${exe} did not report success:\n${out}")
  endif()
endfunction()

if(MODE STREQUAL "pkg-config" AND (NOT PKG_CONFIG OR NOT EXISTS "${PKG_CONFIG}"))
  message("SKIPPED: pkg-config is not installed; the pkg-config way of consuming clrelu was not "
          "tried (tools/bootstrap.sh installs it)")
  return()
endif()

file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
set(config_args "")
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()
step("cmake --install" out "${CMAKE_COMMAND}" --install "${CLRELU_BUILD_DIR}" --prefix "${prefix}"
     ${config_args})
set(libdir "${prefix}/${LIBDIR}")

if(MODE STREQUAL "cmake")
  # Only the fresh prefix: no package registry, no system clrelu.
  step("configuring the consumer" out "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${WORK_DIR}/build"
       -G "${GENERATOR}" "-DCMAKE_C_COMPILER=${C_COMPILER}" "-DCMAKE_PREFIX_PATH=${prefix}"
       -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
       -DCMAKE_BUILD_TYPE=Release)
  file(READ "${WORK_DIR}/build/clrelu_dir.txt" found)
  string(FIND "${found}" "${prefix}/" at)
  if(NOT at EQUAL 0)
    message(FATAL_ERROR "find_package(clrelu) found ${found}, not the package in ${prefix}")
  endif()
  step("building the consumer" out "${CMAKE_COMMAND}" --build "${WORK_DIR}/build")
  run_consumer("${WORK_DIR}/build/consumer")
  run_consumer("${WORK_DIR}/build/consumer_static")
elseif(MODE STREQUAL "pkg-config")
  set(ENV{PKG_CONFIG_PATH} "${libdir}/pkgconfig")
  step("pkg-config --modversion" got "${PKG_CONFIG}" --modversion clrelu)
  string(STRIP "${got}" got)
  if(NOT got STREQUAL VERSION)
    message(FATAL_ERROR "pkg-config says clrelu ${got}, the build is ${VERSION}")
  endif()
  step("pkg-config --cflags" cflags "${PKG_CONFIG}" --cflags clrelu)
  step("pkg-config --libs" libs "${PKG_CONFIG}" --libs clrelu)
  step("pkg-config --static --libs" static_libs "${PKG_CONFIG}" --static --libs clrelu)
  message(STATUS "cflags: ${cflags}libs: ${libs}static libs: ${static_libs}")
  separate_arguments(cflags UNIX_COMMAND "${cflags}")
  separate_arguments(libs UNIX_COMMAND "${libs}")
  separate_arguments(static_libs UNIX_COMMAND "${static_libs}")
  foreach(needed -lm)
    if(NOT needed IN_LIST static_libs)
      message(FATAL_ERROR "pkg-config --static --libs clrelu lacks ${needed}: ${static_libs}")
    endif()
  endforeach()

  step("compiling the consumer (shared)" out "${C_COMPILER}" -std=c11 "${SOURCE_DIR}/consumer.c"
       ${cflags} -o "${WORK_DIR}/consumer_pc" ${libs} "-Wl,-rpath,${libdir}")
  run_consumer("${WORK_DIR}/consumer_pc")

  # Static: the archive in place of -lclrelu (which would pick the shared library), and the
  # private libraries pkg-config adds for --static.
  list(TRANSFORM static_libs REPLACE "^-lclrelu$" "${libdir}/libclrelu.a")
  step("compiling the consumer (static)" out "${C_COMPILER}" -std=c11 "${SOURCE_DIR}/consumer.c"
       ${cflags} -o "${WORK_DIR}/consumer_pc_static" ${static_libs})
  run_consumer("${WORK_DIR}/consumer_pc_static")
else()
  message(FATAL_ERROR "MODE must be cmake or pkg-config, not '${MODE}'")
endif()
