# SPDX-License-Identifier: Apache-2.0
# Run as `cmake -P` (tests/CMakeLists.txt does): installs the clrelu build in CLRELU_BUILD_DIR
# into a fresh prefix under WORK_DIR, then, the MODE way:
#   cmake       builds tests/consumer against that prefix alone with find_package(clrelu) and
#               clrelu::clrelu / clrelu::clrelu_static, and runs both;
#   pkg-config  runs the README's own pkg-config commands (the sh block after the marker
#               <!-- readme-pkg-config -->, with /opt/clrelu replaced by the prefix) on
#               tests/consumer/consumer.c as app.c, checks that the shared binary needs
#               libclrelu and finds it by its run path, and that the static one does not need
#               it at all, and runs both;
#   bench       runs the installed clrelu-bench with no environment variables at all: its run
#               path ($ORIGIN/../lib) must find the libclrelu installed beside it.
# Inputs: CLRELU_BUILD_DIR SOURCE_DIR WORK_DIR MODE GENERATOR C_COMPILER LIBDIR PKG_CONFIG
#         VERSION CONFIG README
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

  # The README's commands, word for word but for the prefix.
  step("extracting the README's pkg-config commands" out "${CMAKE_COMMAND}" "-DREADME=${README}"
       "-DOUTPUT=${WORK_DIR}/readme-pkg-config.txt" -DMARKER=readme-pkg-config -DFENCE=sh
       -P "${SOURCE_DIR}/../../cmake/extract_readme_example.cmake")
  file(READ "${WORK_DIR}/readme-pkg-config.txt" commands)
  string(REPLACE "/opt/clrelu" "${prefix}" commands "${commands}")
  if(NOT commands MATCHES "pkg-config")
    message(FATAL_ERROR "the README's pkg-config block runs no pkg-config:\n${commands}")
  endif()
  file(WRITE "${WORK_DIR}/readme-pkg-config.sh" "set -e\n${commands}")
  file(COPY_FILE "${SOURCE_DIR}/consumer.c" "${WORK_DIR}/app.c")
  # CC as the build's compiler, and pkg-config as found, first on PATH for the script.
  get_filename_component(pc_dir "${PKG_CONFIG}" DIRECTORY)
  file(CREATE_LINK "${C_COMPILER}" "${WORK_DIR}/cc" SYMBOLIC)
  set(ENV{PATH} "${WORK_DIR}:${pc_dir}:$ENV{PATH}")
  message(STATUS "the README's commands:\n${commands}")
  execute_process(COMMAND sh -x "${WORK_DIR}/readme-pkg-config.sh" WORKING_DIRECTORY "${WORK_DIR}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the README's pkg-config commands failed (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "${err}")

  # What each binary needs at run time.
  find_program(READELF NAMES readelf REQUIRED)
  foreach(exe app app-static)
    if(NOT EXISTS "${WORK_DIR}/${exe}")
      message(FATAL_ERROR "the README's pkg-config commands built no ${exe}")
    endif()
    step("readelf -d ${exe}" dyn_${exe} "${READELF}" -d "${WORK_DIR}/${exe}")
  endforeach()
  if(NOT dyn_app MATCHES "NEEDED[^\n]*libclrelu\\.so")
    message(FATAL_ERROR "app (pkg-config --libs clrelu) does not link libclrelu.so:\n${dyn_app}")
  endif()
  if(NOT dyn_app MATCHES "(RUNPATH|RPATH)[^\n]*${prefix}")
    message(FATAL_ERROR "app has no run path to ${prefix}:\n${dyn_app}")
  endif()
  if(dyn_app-static MATCHES "libclrelu")
    message(FATAL_ERROR "app-static (pkg-config --static clrelu-static) still needs libclrelu:\n"
                        "${dyn_app-static}")
  endif()
  run_consumer("${WORK_DIR}/app")
  run_consumer("${WORK_DIR}/app-static")
elseif(MODE STREQUAL "bench")
  set(bench "${prefix}/bin/clrelu-bench")
  if(NOT EXISTS "${bench}")
    message(FATAL_ERROR "the install has no ${bench}")
  endif()
  # env -i: no LD_LIBRARY_PATH, no HOME, nothing; only the executable's own run path.
  step("env -i clrelu-bench --version" out env -i "${bench}" --version)
  if(NOT out MATCHES "clrelu-bench ${VERSION}")
    message(FATAL_ERROR "the installed clrelu-bench said: ${out}")
  endif()
  step("env -i clrelu-bench on the CPU path" out env -i "${bench}" --quiet --device cpu --op forward
       --sizes 2^10 --no-host-trip --repeat 1 --min-time 0)
  if(NOT out MATCHES "\ncpu +forward +f32")
    message(FATAL_ERROR "the installed clrelu-bench measured nothing:\n${out}")
  endif()
  message(STATUS "the installed clrelu-bench runs from ${prefix} with no environment:\n${out}")
else()
  message(FATAL_ERROR "MODE must be cmake or pkg-config, not '${MODE}'")
endif()
