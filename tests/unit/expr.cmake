weir_add_unit_test(expr SOURCES
  expr/parse_test.cc
  expr/check_test.cc
  expr/eval_test.cc
  expr/functions_test.cc
  DEPS weir_expr)
