# Runs an exercise build of a lesson (tutorials/exercise.hpp) and checks how it graded the links.
#   cmake -DPROGRAM=build/05_attention_by_hand_exercise -P cmake/check_exercise.cmake
#       the stub as shipped: every link "not yet written", nothing else, and exit code 1;
#   cmake -DPROGRAM=build/01_neuron_wrong_dw -DWRONG=dw -P cmake/check_exercise.cmake
#       links with one known-wrong formula: exactly the link WRONG graded wrong, every other
#       link exact or close, and exit code 1. WRONG is the link's label as in a file name: each
#       space written '-', '(' and ')' left out ("dc (broadcast)" → dc-broadcast).
execute_process(COMMAND ${PROGRAM} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT code EQUAL 1)
  message(FATAL_ERROR "${PROGRAM} exited with '${code}', expected 1 (a failed check)")
endif()
string(REGEX MATCH "Links derived by hand: ([0-9]+) exact, ([0-9]+) close, ([0-9]+) wrong, ([0-9]+) not yet written \\(of ([0-9]+)\\)"
       summary "${out}")
if(NOT summary)
  message(FATAL_ERROR "${PROGRAM} printed no 'Links derived by hand: …' summary")
endif()
set(exact ${CMAKE_MATCH_1})
set(close ${CMAKE_MATCH_2})
set(wrong ${CMAKE_MATCH_3})
set(not_yet ${CMAKE_MATCH_4})
set(total ${CMAKE_MATCH_5})
string(REGEX MATCHALL "  link [^\n]*✗ WRONG" wrong_lines "${out}")
if(NOT WRONG)
  if(NOT total GREATER 0 OR NOT not_yet EQUAL total)
    message(FATAL_ERROR "as shipped, every link should be 'not yet written': got '${summary}'")
  endif()
else()
  math(EXPR right "${exact} + ${close}")
  math(EXPR others "${total} - 1")
  list(LENGTH wrong_lines n_wrong_lines)
  if(NOT wrong EQUAL 1 OR NOT not_yet EQUAL 0 OR NOT right EQUAL others OR NOT n_wrong_lines EQUAL 1)
    message(FATAL_ERROR "expected exactly one link graded wrong ('${WRONG}'): got '${summary}'")
  endif()
  string(REGEX REPLACE "^  link (.*[^ ]) +✗ WRONG$" "\\1" label "${wrong_lines}")
  string(REPLACE " " "-" label_in_file_name "${label}")
  string(REPLACE "(" "" label_in_file_name "${label_in_file_name}")
  string(REPLACE ")" "" label_in_file_name "${label_in_file_name}")
  if(NOT label_in_file_name STREQUAL WRONG)
    message(FATAL_ERROR "expected link '${WRONG}' graded wrong, got link '${label}' (${label_in_file_name})")
  endif()
endif()
