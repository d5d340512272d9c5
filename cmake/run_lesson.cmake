# Runs a lesson as its test, and keeps what it printed for the documentation checks.
#   cmake -DPROGRAM=build/05_attention_by_hand -DOUTPUT=build/lesson-output/05_attention_by_hand.txt
#         -P cmake/run_lesson.cmake
# Every lesson checks its own maths and exits non-zero when a check fails; this fails with it.
# On success the output (stdout and stderr, stdin from /dev/null so --step never waits) is
# written to OUTPUT, which tests/test_tutorials.cpp reads instead of running the lesson again
# (Note [Checked numbers]): under the sanitizers a lesson takes minutes, and the three
# documentation checks used to run every lesson once each.
execute_process(COMMAND ${PROGRAM} INPUT_FILE /dev/null RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
file(REMOVE ${OUTPUT})
if(NOT code EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} exited with '${code}'")
endif()
file(WRITE ${OUTPUT}.partial "${out}")
file(RENAME ${OUTPUT}.partial ${OUTPUT})
