#include "connectors/registry.h"

#include <fmt/format.h>

#include "connectors/console/console_sink.h"
#include "connectors/file/file_dead_letter.h"
#include "connectors/file/file_sink.h"
#include "connectors/files/files_source.h"
#include "connectors/generate/generate_source.h"
#include "connectors/kafka/kafka_sink.h"
#include "connectors/kafka/kafka_source.h"
#include "connectors/postgres/pg_sink.h"
#include "connectors/socket/socket_source.h"
#include "connectors/stdin/stdin_source.h"

namespace weir::connectors {

namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

// Lines longer than max_record_bytes are cut by the line sources and then rejected by the engine; reading
// one byte more than the limit is enough to know a line is too long.
size_t max_line(const config::Job& job) {
  return static_cast<size_t>(job.on_error.max_record_bytes) + 1;
}

std::unique_ptr<Source> make_source(const config::Job& job) {
  return std::visit(Overloaded{
                        [&](const config::KafkaSource& k) -> std::unique_ptr<Source> {
                          return std::make_unique<kafka::KafkaSource>(k, job.name);
                        },
                        [&](const config::SocketSource& s) -> std::unique_ptr<Source> {
                          return std::make_unique<SocketSource>(s, max_line(job));
                        },
                        [&](const config::FilesSource& f) -> std::unique_ptr<Source> {
                          return std::make_unique<FilesSource>(f, max_line(job));
                        },
                        [&](const config::StdinSource&) -> std::unique_ptr<Source> {
                          return std::make_unique<StdinSource>(0, max_line(job));
                        },
                        [&](const config::GenerateSource& g) -> std::unique_ptr<Source> {
                          return std::make_unique<GenerateSource>(g);
                        },
                    },
                    job.source.kind);
}

std::unique_ptr<Sink> make_sink(const config::Job& job, const engine::OutputPlan& op, size_t sink_index,
                                const config::Sink& sink) {
  return std::visit(
      Overloaded{
          [&](const config::ConsoleSink& c) -> std::unique_ptr<Sink> {
            return std::make_unique<ConsoleSink>(c);
          },
          [&](const config::FileSink& f) -> std::unique_ptr<Sink> { return std::make_unique<FileSink>(f); },
          [&](const config::PostgresSink& p) -> std::unique_ptr<Sink> {
            return std::make_unique<PostgresSink>(p);
          },
          [&](const config::KafkaSink& k) -> std::unique_ptr<Sink> {
            std::optional<int> key_column;
            if (int c = op.key_column(sink_index); c >= 0) key_column = c;
            std::optional<std::string> group;
            if (const auto* src = std::get_if<config::KafkaSource>(&job.source.kind)) group = src->group;
            return std::make_unique<kafka::KafkaSink>(k, key_column, std::vector<bool>{}, group);
          },
      },
      sink.kind);
}

std::unique_ptr<DeadLetterSink> make_dead_letter(const config::Sink& sink) {
  if (const auto* f = std::get_if<config::FileSink>(&sink.kind))
    return std::make_unique<FileDeadLetterSink>(*f);
  if (const auto* k = std::get_if<config::KafkaSink>(&sink.kind)) {
    return std::make_unique<kafka::KafkaDeadLetterSink>(*k);
  }
  return nullptr;
}

}  // namespace

bool build(const config::Job& job, const engine::JobPlan& plan, engine::Connectors& out, std::string& error) {
  out.source = make_source(job);
  out.sinks.clear();
  for (size_t o = 0; o < job.outputs.size(); ++o) {
    out.sinks.emplace_back();
    for (size_t s = 0; s < job.outputs[o].sinks.size(); ++s) {
      out.sinks.back().push_back(make_sink(job, plan.outputs[o], s, job.outputs[o].sinks[s]));
    }
  }
  if (job.on_error.dead_letter) {
    out.dead_letter = make_dead_letter(*job.on_error.dead_letter);
    if (!out.dead_letter) {
      error = "on_error.dead_letter must be a file or kafka sink";
      return false;
    }
  }
  return true;
}

}  // namespace weir::connectors
