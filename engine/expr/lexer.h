// Tokenizer for expressions (spec §10). Internal to weir_expr.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/expr/ast.h"

namespace weir::expr::detail {

enum class Tok : uint8_t {
  End,
  Int,      // text holds the digits; value parsed by the parser (so `-9223372036854775808` works)
  Float,    // fval
  String,   // text holds the unescaped contents
  Ident,    // a name or path: user.screen_name, tags[0].text, _topic; text holds it
  Quoted,   // a backquoted name: `odd name`; text holds it without the quotes
  Keyword,  // and or not in is null true false; text holds it in lower case
  LParen,
  RParen,
  Comma,
  Op,  // = == != <> < <= > >= + - * / %; text holds it
};

struct Token {
  Tok kind = Tok::End;
  std::string text;
  double fval = 0;
  int col = 1;  // 1-based, counted in code points
};

// Splits `src` into tokens, the last being Tok::End. On a lexical error (unterminated string,
// stray character, malformed number) returns the error instead.
struct LexResult {
  std::vector<Token> tokens;
  std::optional<ParseError> error;
};
LexResult lex(std::string_view src);

// True when `name` can be written without backquotes: an identifier path that is not a keyword.
bool is_plain_name(std::string_view name);
// True for and/or/not/in/is/null/true/false (case-insensitive).
bool is_keyword(std::string_view word);

// Human description of a token for messages: "')'", "'foo'", "end of expression".
std::string describe(const Token& t);

}  // namespace weir::expr::detail
