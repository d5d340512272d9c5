# The library's sources, one list for every build that compiles them (the main build and
# tests/fuzz): the fuzzed code is the shipped code. Set TG_ROOT to the project root first.
file(GLOB TG_SOURCES CONFIGURE_DEPENDS
  ${TG_ROOT}/autograd/*.cpp ${TG_ROOT}/autograd/fast/*.cpp ${TG_ROOT}/autograd/ops/*.cpp
  ${TG_ROOT}/nn/*.cpp ${TG_ROOT}/models/*.cpp
  ${TG_ROOT}/models/classifier/*.cpp ${TG_ROOT}/models/classifier/encoders/*.cpp
  ${TG_ROOT}/models/classifier/poolings/*.cpp ${TG_ROOT}/models/data/*.cpp
  ${TG_ROOT}/models/training/*.cpp ${TG_ROOT}/models/checkpoint/*.cpp
  ${TG_ROOT}/models/baseline/*.cpp)
