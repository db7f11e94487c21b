# install() rules and the exported CMake package: a downstream project does
#   find_package(lamina REQUIRED)
#   target_link_libraries(app PRIVATE lamina::lamina)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(LAMINA_MODULES core autograd optim layers serialization)
set(LAMINA_LIBRARY_TARGETS lamina_core lamina_autograd lamina_optim lamina_data lamina_layers lamina_serialization)

install(TARGETS lamina-train lamina-inspect RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ${LAMINA_LIBRARY_TARGETS} lamina
  EXPORT laminaTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# Public headers keep their layout under include/lamina/.
install(FILES lamina.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lamina)
foreach(module IN LISTS LAMINA_MODULES)
  install(DIRECTORY ${module}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lamina/${module}
    FILES_MATCHING PATTERN "*.h")
endforeach()

install(EXPORT laminaTargets NAMESPACE lamina:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lamina)
configure_package_config_file(cmake/laminaConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/laminaConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lamina)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/laminaConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/laminaConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/laminaConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lamina)
