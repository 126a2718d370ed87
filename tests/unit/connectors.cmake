# Unit tests of the simple connectors: generate, stdin, files, socket, console, file.
weir_add_unit_test(connectors SOURCES
  connectors/line_buffer_test.cc
  connectors/generate_test.cc
  connectors/files_test.cc
  connectors/stdin_test.cc
  connectors/socket_test.cc
  connectors/console_test.cc
  connectors/file_sink_test.cc
  DEPS weir_generate weir_stdin weir_files weir_socket weir_console weir_file)
