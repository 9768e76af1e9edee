// How GoogleTest prints the store's enums in failure messages: by name
// ("cancelled"), not as a byte dump.
#pragma once

#include <ostream>

#include "store/delivery_codec.hpp"
#include "store/delivery_records.hpp"
#include "store/disk_space.hpp"

namespace hookd::store {

inline void PrintTo(delivery_status s, std::ostream* os) { *os << to_string(s); }
inline void PrintTo(space_state s, std::ostream* os) { *os << space_state_name(s); }

}  // namespace hookd::store
