#include "config/job.h"

namespace weir::config {

bool Source::bounded() const {
  if (std::holds_alternative<StdinSource>(kind)) return true;
  if (auto* f = std::get_if<FilesSource>(&kind)) return f->once;
  if (auto* g = std::get_if<GenerateSource>(&kind)) return g->limit.has_value();
  return false;
}

std::string_view field_type_name(FieldType t) {
  switch (t) {
    case FieldType::Any:
      return "any";
    case FieldType::String:
      return "string";
    case FieldType::Int:
      return "int";
    case FieldType::Float:
      return "float";
    case FieldType::Bool:
      return "bool";
    case FieldType::Time:
      return "time";
  }
  return "?";
}

Type value_type_of(FieldType t) {
  switch (t) {
    case FieldType::Any:
      return Type::Null;
    case FieldType::String:
      return Type::String;
    case FieldType::Int:
      return Type::Int;
    case FieldType::Float:
      return Type::Float;
    case FieldType::Bool:
      return Type::Bool;
    case FieldType::Time:
      return Type::Time;
  }
  return Type::Null;
}

std::string_view agg_name(AggKind k) {
  switch (k) {
    case AggKind::Count:
    case AggKind::CountOf:
      return "count";
    case AggKind::Sum:
      return "sum";
    case AggKind::Min:
      return "min";
    case AggKind::Max:
      return "max";
    case AggKind::Avg:
      return "avg";
    case AggKind::CountDistinct:
      return "count_distinct";
    case AggKind::First:
      return "first";
    case AggKind::Last:
      return "last";
  }
  return "?";
}

}  // namespace weir::config
