weir_add_unit_test(fields SOURCES
  fields/path_test.cc
  fields/extract_test.cc
  fields/bad_input_test.cc
  fields/time_test.cc
  fields/tweets_test.cc
  fields/skip_test.cc
  fields/simd_test.cc
  DEPS weir_fields)
