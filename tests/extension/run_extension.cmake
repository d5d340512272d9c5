# cmake -P driver for the extension test (tests/CMakeLists.txt, extension.stacked_gru):
# the whole path of a new encoder through the real sentiment program.
#
# SENTIMENT_EXTENDED is the sentiment program built from its own unedited sources plus
# tests/extension/stacked_gru.cpp, which registers the encoder "stacked_gru"; SENTIMENT is
# the program without it. On built-in generated tweets (`demo --quick` writes them), the
# extended program trains with --encoder stacked_gru and saves a checkpoint, loads it to
# evaluate, predict and report, and every step's output is checked; the plain program
# refuses the name, so the encoder came from that one file.
# Inputs: SENTIMENT_EXTENDED, SENTIMENT, WORK_DIR.
cmake_minimum_required(VERSION 3.19)  # string(JSON)
foreach(var SENTIMENT_EXTENDED SENTIMENT WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_extension.cmake: -D${var}=… is required")
  endif()
endforeach()

# Runs a command; `expect` is the exit code it must give. Leaves its output in `out`.
function(run step expect)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT rc EQUAL expect)
    message(FATAL_ERROR "extension test: ${step} exited ${rc}, expected ${expect}:\n${output}")
  endif()
  message(STATUS "extension test: ${step}: ok")
  set(out "${output}" PARENT_SCOPE)
endfunction()

function(expect_in step needle haystack)
  string(FIND "${haystack}" "${needle}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "extension test: ${step}: expected \"${needle}\" in:\n${haystack}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(data "${WORK_DIR}/data")
set(model "${WORK_DIR}/model")

# 1. The new encoder is on offer, with the description from its own file.
run("train --help lists it" 0 "${SENTIMENT_EXTENDED}" train --help)
expect_in("train --help" "stacked_gru: two GRU layers" "${out}")

# 2. Built-in data: `demo --quick` writes 300/100/100 generated tweets (and a model we ignore).
run("demo --quick writes the built-in data" 0 "${SENTIMENT_EXTENDED}" demo --quick --out "${data}")
foreach(split train valid test)
  if(NOT EXISTS "${data}/${split}.csv")
    message(FATAL_ERROR "extension test: demo --quick wrote no ${data}/${split}.csv")
  endif()
endforeach()

# 3. Train and save with it, by name.
run("train --encoder stacked_gru" 0 "${SENTIMENT_EXTENDED}" train --train "${data}/train.csv"
    --valid "${data}/valid.csv" --encoder stacked_gru --pooling attention --recipe canonical
    --epochs 3 --embedding 12 --hidden 10 --batch-size 32 --lr 0.01 --seed 3 --out "${model}")
expect_in("train's model line" "stacked_gru encoder, attention pooling" "${out}")
file(READ "${model}/config.json" config)
string(JSON encoder GET "${config}" model encoder)
string(JSON best_accuracy GET "${config}" best_valid accuracy)
if(NOT encoder STREQUAL "stacked_gru")
  message(FATAL_ERROR "extension test: config.json's model.encoder is \"${encoder}\", not stacked_gru")
endif()
execute_process(COMMAND python3 -c "import numpy,sys; print(' '.join(sorted(numpy.load(sys.argv[1]).files)))"
                "${model}/weights.npz" RESULT_VARIABLE numpy_rc OUTPUT_VARIABLE names ERROR_QUIET)
if(numpy_rc EQUAL 0)  # numpy is optional: the names are also checked through evaluate below
  expect_in("weights.npz names" "stacked_gru.upper.weight_hh_l0" "${names}")
endif()

# 4. Load it and evaluate: on the validation split, the loaded model scores exactly the
#    accuracy training recorded for its best epoch.
run("evaluate --json on valid" 0 "${SENTIMENT_EXTENDED}" evaluate --checkpoint "${model}" --data "${data}/valid.csv" --json)
string(JSON accuracy GET "${out}" accuracy)
if(NOT accuracy STREQUAL best_accuracy)
  message(FATAL_ERROR "extension test: the reloaded model scores ${accuracy} on valid, training recorded ${best_accuracy}")
endif()
run("evaluate on test" 0 "${SENTIMENT_EXTENDED}" evaluate --checkpoint "${model}" --data "${data}/test.csv")
expect_in("evaluate" "macro" "${out}")

# 5. Predict: a label, and attention weights over the five words.
run("predict --json" 0 "${SENTIMENT_EXTENDED}" predict --checkpoint "${model}" --json "@united lost my bag again")
string(JSON label GET "${out}" label)
string(JSON weights LENGTH "${out}" alpha)
if(NOT label MATCHES "^(negative|neutral|positive)$" OR NOT weights EQUAL 5)
  message(FATAL_ERROR "extension test: predict --json gave label \"${label}\" and ${weights} weights:\n${out}")
endif()

# 6. Report: one HTML page naming the encoder.
run("report" 0 "${SENTIMENT_EXTENDED}" report --checkpoint "${model}" --data "${data}/test.csv"
    --out "${WORK_DIR}/report.html")
file(READ "${WORK_DIR}/report.html" html)
expect_in("report.html" "stacked_gru" "${html}")

# 7. The program without the file knows no such encoder: not on the command line (usage
#    error, exit 2), and its checkpoint is one clear error listing the known ones (exit 1).
run("plain sentiment refuses --encoder stacked_gru" 2 "${SENTIMENT}" train --train "${data}/train.csv"
    --valid "${data}/valid.csv" --encoder stacked_gru --out "${WORK_DIR}/never")
run("plain sentiment refuses the checkpoint" 1 "${SENTIMENT}" evaluate --checkpoint "${model}" --data "${data}/test.csv")
expect_in("plain evaluate" "unknown encoder \"stacked_gru\" (known: lstm, gru, transformer" "${out}")
