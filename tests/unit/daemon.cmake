weir_add_unit_test(daemon SOURCES daemon/daemon_test.cc DEPS weir_daemon)
