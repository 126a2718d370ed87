weir_add_unit_test(kafka SOURCES kafka/broker_test.cc kafka/config_test.cc kafka/sink_test.cc kafka/source_test.cc
  DEPS weir_kafka)
target_compile_definitions(weir_kafka_tests PRIVATE WEIR_MOCK_BROKER="$<TARGET_FILE:weir-mock-broker>")
add_dependencies(weir_kafka_tests weir-mock-broker)
