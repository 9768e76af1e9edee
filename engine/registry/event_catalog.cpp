// The event types a deployment accepts: Sonar's eleven by default, or one per line of
// a catalog file.
#include "hookd/engine/event_catalog.hpp"

#include <algorithm>
#include <fstream>

namespace hookd::engine {

bool valid_event_type_name(std::string_view type) {
  if (type.empty() || type.size() > 64) return false;
  return std::all_of(type.begin(), type.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

event_catalog event_catalog::sonar_default() {
  return event_catalog({
      "new_assigned_message",
      "new_unassigned_message",
      "outbound_message",
      "customer_subscribed",
      "customer_unsubscribed",
      "user_assignment",
      "customer_created",
      "tag_added_to_message",
      "tag_removed_from_message",
      "customer_double_opted_in",
      "customer_state_changed",
  });
}

explained<event_catalog> event_catalog::from_types(std::vector<std::string> types) {
  if (types.empty()) return std::string("the event catalog is empty");
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (!valid_event_type_name(types[i])) {
      return "event type \"" + types[i] + "\" is not 1-64 characters of [a-z0-9_.-]";
    }
    if (std::find(types.begin(), types.begin() + static_cast<std::ptrdiff_t>(i), types[i]) !=
        types.begin() + static_cast<std::ptrdiff_t>(i)) {
      return "event type \"" + types[i] + "\" is listed twice";
    }
  }
  return event_catalog(std::move(types));
}

explained<event_catalog> event_catalog::load(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return "cannot read event catalog " + file.string();
  std::vector<std::string> types;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    auto last = line.find_last_not_of(" \t\r");
    std::string type = line.substr(first, last - first + 1);
    if (!valid_event_type_name(type)) {
      return file.string() + ":" + std::to_string(number) + ": event type \"" + type +
             "\" is not 1-64 characters of [a-z0-9_.-]";
    }
    // Checked here rather than left to from_types so the error names the line.
    if (std::find(types.begin(), types.end(), type) != types.end()) {
      return file.string() + ":" + std::to_string(number) + ": event type \"" + type +
             "\" is listed twice";
    }
    types.push_back(std::move(type));
  }
  auto catalog = from_types(std::move(types));
  if (!catalog) return file.string() + ": " + catalog.error().message;
  return catalog;
}

bool event_catalog::contains(std::string_view type) const {
  return std::find(types_.begin(), types_.end(), type) != types_.end();
}

std::string event_catalog::joined() const {
  std::string out;
  for (const auto& t : types_) {
    if (!out.empty()) out += ", ";
    out += t;
  }
  return out;
}

}  // namespace hookd::engine
