weir_add_unit_test(window SOURCES
  window/window_test.cc
  window/window_property_test.cc
  window/partials_test.cc
  window/string_key_test.cc
  window/shard_test.cc
  COST 20
  DEPS weir_window)
