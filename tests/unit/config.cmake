# Job file parsing and validation (config/), plus the `validate` / `explain` command bodies.
weir_add_unit_test(config SOURCES
  config/units_test.cc
  config/file_errors_test.cc
  config/schema_test.cc
  config/outputs_test.cc
  config/jobs_test.cc
  ../../cmd/validate.cc
  ../../cmd/explain.cc
  DEPS weir_config CLI11::CLI11)
