# libFuzzer run over the CURVE key-file parser; built by the script with clang++ like
# fuzz_protocol. Included from tests/fuzz/CMakeLists.txt.
add_test(NAME fuzz_keys
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/run_fuzz_keys.sh 20 ${CMAKE_CURRENT_BINARY_DIR}/work-keys)
set_tests_properties(fuzz_keys PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77)
