weir_add_unit_test(fields SOURCES
  fields/path_test.cc
  DEPS weir_fields)
