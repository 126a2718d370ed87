weir_add_unit_test(engine SOURCES engine/executor_test.cc engine/checkpoint_test.cc engine/generator_tally_test.cc engine/count_key_test.cc DEPS weir_engine weir_config weir_generate)
