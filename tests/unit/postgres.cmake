weir_add_unit_test(postgres SOURCES
  postgres/pg_config_test.cc
  postgres/pg_sink_test.cc
  DEPS weir_postgres)
