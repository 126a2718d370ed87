// Expression tokenizer. Columns are 1-based and counted in code points, so a message about
// `name = 'Ärger' and` points at the right character.
#include "engine/expr/lexer.h"

#include <cctype>
#include <charconv>
#include <cmath>

namespace weir::expr::detail {
namespace {

bool ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool ident_char(char c) {
  return ident_start(c) || (c >= '0' && c <= '9');
}
bool digit(char c) {
  return c >= '0' && c <= '9';
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string_view src) : s_(src) {}

  LexResult run() {
    LexResult r;
    while (true) {
      skip_space();
      Token t;
      t.col = col_at(pos_);
      if (pos_ >= s_.size()) {
        t.kind = Tok::End;
        r.tokens.push_back(std::move(t));
        return r;
      }
      if (auto err = next(t)) {
        r.tokens.clear();
        r.error = std::move(err);
        return r;
      }
      r.tokens.push_back(std::move(t));
    }
  }

 private:
  int col_at(size_t pos) {
    for (; cpos_ < pos && cpos_ < s_.size(); ++cpos_) {
      if ((static_cast<unsigned char>(s_[cpos_]) & 0xC0) != 0x80) ++ccol_;
    }
    return ccol_;
  }

  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r' ||
                                s_[pos_] == '\f' || s_[pos_] == '\v')) {
      ++pos_;
    }
  }

  char peek(size_t ahead = 0) const { return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : '\0'; }

  ParseError err(size_t pos, std::string msg) { return ParseError{col_at(pos), std::move(msg)}; }

  std::optional<ParseError> next(Token& t) {
    char c = s_[pos_];
    if (c == '\'' || c == '"') return string_lit(t);
    if (c == '`') return quoted_name(t);
    if (digit(c) || (c == '.' && digit(peek(1)))) return number(t);
    if (ident_start(c)) return name(t);
    switch (c) {
      case '(':
        t.kind = Tok::LParen, t.text = "(", ++pos_;
        return std::nullopt;
      case ')':
        t.kind = Tok::RParen, t.text = ")", ++pos_;
        return std::nullopt;
      case ',':
        t.kind = Tok::Comma, t.text = ",", ++pos_;
        return std::nullopt;
      case '+':
      case '-':
      case '*':
      case '/':
      case '%':
        t.kind = Tok::Op, t.text = std::string(1, c), ++pos_;
        return std::nullopt;
      case '=':
        t.kind = Tok::Op, t.text = "=";
        pos_ += peek(1) == '=' ? 2 : 1;
        return std::nullopt;
      case '!':
        if (peek(1) != '=') return err(pos_, "unexpected character '!' (did you mean '!=' or 'not'?)");
        t.kind = Tok::Op, t.text = "!=", pos_ += 2;
        return std::nullopt;
      case '<':
        t.kind = Tok::Op;
        if (peek(1) == '=') {
          t.text = "<=", pos_ += 2;
        } else if (peek(1) == '>') {
          t.text = "!=", pos_ += 2;
        } else {
          t.text = "<", ++pos_;
        }
        return std::nullopt;
      case '>':
        t.kind = Tok::Op;
        if (peek(1) == '=') {
          t.text = ">=", pos_ += 2;
        } else {
          t.text = ">", ++pos_;
        }
        return std::nullopt;
      case '&':
        return err(pos_, "unexpected character '&' (write 'and')");
      case '|':
        return err(pos_, "unexpected character '|' (write 'or')");
      default:
        break;
    }
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F) return err(pos_, std::string("unexpected character '") + c + "'");
    return err(pos_, "unexpected character (byte 0x" + hex(u) + ")");
  }

  static std::string hex(unsigned char u) {
    const char* d = "0123456789abcdef";
    return std::string{d[u >> 4], d[u & 15]};
  }

  // 'text' or "text". Escapes \' \" \\ \n \t \r; any other backslash is kept as written, so
  // regexes such as '\d+' need no doubling.
  std::optional<ParseError> string_lit(Token& t) {
    size_t start = pos_;
    char q = s_[pos_++];
    t.kind = Tok::String;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == q) {
        ++pos_;
        return std::nullopt;
      }
      if (c == '\\' && pos_ + 1 < s_.size()) {
        char e = s_[pos_ + 1];
        switch (e) {
          case '\'':
          case '"':
          case '\\':
            t.text += e;
            break;
          case 'n':
            t.text += '\n';
            break;
          case 't':
            t.text += '\t';
            break;
          case 'r':
            t.text += '\r';
            break;
          default:
            t.text += '\\';
            t.text += e;
            break;
        }
        pos_ += 2;
        continue;
      }
      t.text += c;
      ++pos_;
    }
    return err(start, std::string("unterminated string: missing closing ") + q);
  }

  // `any name`; a backquote inside is written twice.
  std::optional<ParseError> quoted_name(Token& t) {
    size_t start = pos_++;
    t.kind = Tok::Quoted;
    while (pos_ < s_.size()) {
      if (s_[pos_] == '`') {
        if (peek(1) == '`') {
          t.text += '`';
          pos_ += 2;
          continue;
        }
        ++pos_;
        if (t.text.empty()) return err(start, "empty name ``");
        return std::nullopt;
      }
      t.text += s_[pos_++];
    }
    return err(start, "unterminated name: missing closing `");
  }

  std::optional<ParseError> number(Token& t) {
    size_t start = pos_;
    bool is_float = false;
    while (digit(peek())) ++pos_;
    if (peek() == '.' && digit(peek(1))) {
      is_float = true;
      ++pos_;
      while (digit(peek())) ++pos_;
    } else if (peek() == '.' && !ident_start(peek(1))) {
      return err(start, "malformed number: expected digits after '.'");
    }
    if (peek() == 'e' || peek() == 'E') {
      size_t p = pos_ + 1;
      if (p < s_.size() && (s_[p] == '+' || s_[p] == '-')) ++p;
      if (p < s_.size() && digit(s_[p])) {
        is_float = true;
        pos_ = p;
        while (digit(peek())) ++pos_;
      }
    }
    if (ident_char(peek()) || peek() == '.') {
      size_t end = pos_;
      while (end < s_.size() && (ident_char(s_[end]) || s_[end] == '.')) ++end;
      return err(start, "malformed number '" + std::string(s_.substr(start, end - start)) + "'");
    }
    std::string_view text = s_.substr(start, pos_ - start);
    if (!is_float) {
      t.kind = Tok::Int;
      t.text = std::string(text);
      return std::nullopt;
    }
    t.kind = Tok::Float;
    t.text = std::string(text);
    t.fval = std::strtod(t.text.c_str(), nullptr);
    if (!std::isfinite(t.fval)) return err(start, "number out of range: " + t.text);
    return std::nullopt;
  }

  // A name or path: segments joined by '.', with [N] and [*] steps.
  std::optional<ParseError> name(Token& t) {
    size_t start = pos_;
    bool plain = true;
    while (ident_char(peek())) ++pos_;
    while (true) {
      if (peek() == '.' && ident_start(peek(1))) {
        plain = false;
        ++pos_;
        while (ident_char(peek())) ++pos_;
      } else if (peek() == '[') {
        size_t p = pos_ + 1;
        if (p < s_.size() && s_[p] == '*') {
          ++p;
        } else {
          while (p < s_.size() && digit(s_[p])) ++p;
          if (p == pos_ + 1) return err(pos_, "expected a number or '*' inside '[ ]' of a path");
        }
        if (p >= s_.size() || s_[p] != ']') return err(pos_, "expected ']' to close '[' of a path");
        plain = false;
        pos_ = p + 1;
      } else {
        break;
      }
    }
    t.text = std::string(s_.substr(start, pos_ - start));
    if (plain && is_keyword(t.text)) {
      t.kind = Tok::Keyword;
      t.text = lower_ascii(t.text);
    } else {
      t.kind = Tok::Ident;
    }
    return std::nullopt;
  }

  std::string_view s_;
  size_t pos_ = 0;
  size_t cpos_ = 0;
  int ccol_ = 1;
};

}  // namespace

LexResult lex(std::string_view src) {
  return Lexer(src).run();
}

bool is_keyword(std::string_view w) {
  if (w.size() < 2 || w.size() > 5) return false;
  std::string l = lower_ascii(w);
  return l == "and" || l == "or" || l == "not" || l == "in" || l == "is" || l == "null" || l == "true" ||
         l == "false";
}

bool is_plain_name(std::string_view name) {
  auto r = lex(name);
  return !r.error && r.tokens.size() == 2 && r.tokens[0].kind == Tok::Ident && r.tokens[0].text == name;
}

std::string describe(const Token& t) {
  switch (t.kind) {
    case Tok::End:
      return "end of expression";
    case Tok::String:
      return "string '" + t.text + "'";
    case Tok::Quoted:
      return "'`" + t.text + "`'";
    default:
      return "'" + t.text + "'";
  }
}

}  // namespace weir::expr::detail
