# SPDX-License-Identifier: Apache-2.0
# The installable package: the CMake config (clrelu::clrelu, clrelu::clrelu_static) with its
# version file, and clrelu.pc for pkg-config. The libraries and headers themselves are
# installed by host/CMakeLists.txt into the export set used here.
include(CMakePackageConfigHelpers)

set(CLRELU_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/clrelu)
install(EXPORT clreluTargets NAMESPACE clrelu:: FILE clreluTargets.cmake
        DESTINATION ${CLRELU_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/clreluConfig.cmake.in
  ${PROJECT_BINARY_DIR}/clreluConfig.cmake INSTALL_DESTINATION ${CLRELU_CMAKE_DIR})
# 0.x: a minor release may change the API, so only the same major.minor is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/clreluConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/clreluConfig.cmake ${PROJECT_BINARY_DIR}/clreluConfigVersion.cmake
        DESTINATION ${CLRELU_CMAKE_DIR})

# clrelu.pc. Relative install directories are written relative to the .pc file itself
# (${pcfiledir}), so that `cmake --install build --prefix P` gives a file that is right in P.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(CLRELU_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(CLRELU_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(CLRELU_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH pc_to_prefix "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
  string(REGEX REPLACE "/$" "" pc_to_prefix "${pc_to_prefix}")
  set(CLRELU_PC_PREFIX "\${pcfiledir}/${pc_to_prefix}")
  set(CLRELU_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(CLRELU_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# OpenCL through its own .pc where the system has one (Debian's ocl-icd-opencl-dev does).
find_package(PkgConfig QUIET)
set(CLRELU_PC_REQUIRES "")
set(CLRELU_PC_LIBS "")
if(PKG_CONFIG_FOUND)
  pkg_check_modules(CLRELU_OPENCL_PC QUIET OpenCL)
endif()
if(CLRELU_OPENCL_PC_FOUND)
  set(CLRELU_PC_REQUIRES "OpenCL")
else()
  set(CLRELU_PC_LIBS " -lOpenCL")
endif()
# A static link needs the threads library (in libc since glibc 2.34, where FindThreads
# reports no flag and -pthread costs nothing) and libm.
set(CLRELU_PC_THREADS "${CMAKE_THREAD_LIBS_INIT}")
if(NOT CLRELU_PC_THREADS)
  set(CLRELU_PC_THREADS "-pthread")
endif()
set(CLRELU_PC_LIBS_PRIVATE "${CLRELU_PC_THREADS} -lm")
configure_file(${PROJECT_SOURCE_DIR}/cmake/clrelu.pc.in ${PROJECT_BINARY_DIR}/clrelu.pc @ONLY)
# clrelu-static.pc: libclrelu.a by its file name, so the linker cannot take the shared library.
configure_file(${PROJECT_SOURCE_DIR}/cmake/clrelu-static.pc.in ${PROJECT_BINARY_DIR}/clrelu-static.pc
               @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/clrelu.pc ${PROJECT_BINARY_DIR}/clrelu-static.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
