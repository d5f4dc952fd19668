# What `cmake --install` puts under the prefix (GNUInstallDirs paths; docs/INSTALL.md):
#   lib/libsmtpc.so.0.1.0, libsmtpc.so.0 (SONAME), libsmtpc.so, libsmtpc.a
#   include/smtpc.h
#   lib/pkgconfig/smtpc.pc
#   lib/cmake/smtpc/: smtpcConfig.cmake, smtpcConfigVersion.cmake, smtpcTargets*.cmake,
#     giving smtpc::smtpc (shared) and smtpc::smtpc_static.
# Included from the top-level CMakeLists.txt after the library targets are defined.
include(CMakePackageConfigHelpers)

set(SMTPC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/smtpc)

install(TARGETS smtpc smtpc_static EXPORT smtpcTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/smtpc.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# The CMake package. The targets file computes the prefix from its own location: the tree
# can be moved (or installed with `cmake --install --prefix`) and still be found.
install(EXPORT smtpcTargets NAMESPACE smtpc:: DESTINATION ${SMTPC_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/smtpcConfig.cmake.in
  ${PROJECT_BINARY_DIR}/smtpcConfig.cmake INSTALL_DESTINATION ${SMTPC_CMAKE_DIR})
# The same major version is the same SONAME (SOVERSION is the major version).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/smtpcConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/smtpcConfig.cmake ${PROJECT_BINARY_DIR}/smtpcConfigVersion.cmake
  DESTINATION ${SMTPC_CMAKE_DIR})

# smtpc.pc: libdir and includedir relative to ${prefix}, unless GNUInstallDirs was given an
# absolute path (then that path as it is).
set(SMTPC_PC_LIBDIR "\${prefix}")
cmake_path(APPEND SMTPC_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
set(SMTPC_PC_INCLUDEDIR "\${prefix}")
cmake_path(APPEND SMTPC_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
configure_file(${PROJECT_SOURCE_DIR}/smtpc.pc.in ${PROJECT_BINARY_DIR}/smtpc.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/smtpc.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
