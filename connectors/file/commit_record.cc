#include "connectors/file/commit_record.h"

#include <fmt/format.h>
#include <rapidjson/document.h>

#include "engine/value.h"

namespace weir {

std::string render_commit_record(const CommitRecord& c) {
  std::string out = "{\"format\":1,\"job\":";
  append_json_string(out, c.job);
  out += ",\"output\":";
  append_json_string(out, c.output);
  fmt::format_to(std::back_inserter(out), ",\"batch\":{},\"length\":{}}}\n", c.batch, c.length);
  return out;
}

std::optional<CommitRecord> parse_commit_record(std::string_view text) {
  // RapidJSON is built with SSE4.2, whose scanner reads whole 16-byte blocks: parse a padded copy.
  std::string padded;
  padded.reserve(text.size() + 32);
  padded.assign(text.data(), text.size());
  rapidjson::Document d;
  d.Parse(padded.data(), padded.size());
  if (d.HasParseError() || !d.IsObject()) return std::nullopt;
  auto str = [&](const char* k) -> const rapidjson::Value* {
    auto it = d.FindMember(k);
    return it != d.MemberEnd() && it->value.IsString() ? &it->value : nullptr;
  };
  auto u64 = [&](const char* k) -> const rapidjson::Value* {
    auto it = d.FindMember(k);
    return it != d.MemberEnd() && it->value.IsUint64() ? &it->value : nullptr;
  };
  auto fmtv = u64("format");
  if (fmtv == nullptr || fmtv->GetUint64() != 1) return std::nullopt;
  auto job = str("job"), output = str("output");
  auto batch = u64("batch"), length = u64("length");
  if (!job || !output || !batch || !length) return std::nullopt;
  CommitRecord c;
  c.job.assign(job->GetString(), job->GetStringLength());
  c.output.assign(output->GetString(), output->GetStringLength());
  c.batch = batch->GetUint64();
  c.length = length->GetUint64();
  return c;
}

}  // namespace weir
