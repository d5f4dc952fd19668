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

# The smtpc command finds libsmtpc.so.0 relative to itself ($ORIGIN/../lib) when the library
# directory is not one the linker searches by itself (a prefix of one's own: $HOME/.local,
# /opt/smtpc); installed into /usr it carries no RUNPATH, as distributions want.
file(RELATIVE_PATH SMTPC_BIN_TO_LIB ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_LIBDIR})
list(FIND CMAKE_C_IMPLICIT_LINK_DIRECTORIES ${CMAKE_INSTALL_FULL_LIBDIR} SMTPC_LIBDIR_IMPLICIT)
if(TARGET smtpc_cli AND SMTPC_LIBDIR_IMPLICIT EQUAL -1)
  set_target_properties(smtpc_cli PROPERTIES INSTALL_RPATH "$ORIGIN/${SMTPC_BIN_TO_LIB}")
endif()
