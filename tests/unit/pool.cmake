weir_add_unit_test(pool SOURCES engine/parse_pool_test.cc engine/partial_agg_test.cc engine/shard_merge_test.cc
  COST 20 DEPS weir_engine weir_config)
