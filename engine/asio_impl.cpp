// The one translation unit that compiles Asio and Beast (STYLE.md rule 11): every
// other file sees declarations only, so two cores build the tree quickly.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
