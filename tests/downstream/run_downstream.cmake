# cmake -P driver for the install test: installs a tapegrad build into a scratch
# prefix, then configures, builds and runs tests/downstream against that prefix
# alone. Inputs: TG_BUILD_DIR, TG_CONFIG, DOWNSTREAM_DIR, WORK_DIR, CXX_COMPILER.
cmake_minimum_required(VERSION 3.16)
foreach(var TG_BUILD_DIR TG_CONFIG DOWNSTREAM_DIR WORK_DIR CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_downstream.cmake: -D${var}=… is required")
  endif()
endforeach()

function(run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: ${step} failed (${rc}):\n${out}")
  endif()
  message(STATUS "install test: ${step}: ok")
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
# A fresh build dir may not have built the library yet; up to date, this is a no-op.
run("build libtapegrad" ${CMAKE_COMMAND} --build "${TG_BUILD_DIR}" --target tapegrad --config ${TG_CONFIG} --parallel 2)
run("cmake --install" ${CMAKE_COMMAND} --install "${TG_BUILD_DIR}" --prefix "${prefix}" --config ${TG_CONFIG})
run("configure downstream" ${CMAKE_COMMAND} -S "${DOWNSTREAM_DIR}" -B "${WORK_DIR}/build"
    -DCMAKE_BUILD_TYPE=${TG_CONFIG} -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON)
run("build downstream" ${CMAKE_COMMAND} --build "${WORK_DIR}/build" --config ${TG_CONFIG})
find_program(custom_op custom_op PATHS "${WORK_DIR}/build" "${WORK_DIR}/build/${TG_CONFIG}" NO_DEFAULT_PATH)
run("run custom_op" ${custom_op})
message("${last_output}")
