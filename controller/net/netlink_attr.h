// Attribute iteration for C++: libmnl's mnl_attr_for_each* macros assign void* to the loop
// variable, which C++ rejects, so these do the same walk with typed pointers.
#pragma once

#include <libmnl/libmnl.h>

#include <cstddef>

namespace xdplb::net {

// fn(const nlattr*) for each attribute after the `header_size` bytes of family header.
template <typename F>
void for_each_attr(const nlmsghdr* nlh, size_t header_size, F&& fn) {
  const char* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  for (auto* a = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, header_size));
       mnl_attr_ok(a, static_cast<int>(tail - reinterpret_cast<const char*>(a)));
       a = mnl_attr_next(a))
    fn(a);
}

// fn(const nlattr*) for each attribute nested in `nest`.
template <typename F>
void for_each_nested(const nlattr* nest, F&& fn) {
  const char* tail =
      static_cast<const char*>(mnl_attr_get_payload(nest)) + mnl_attr_get_payload_len(nest);
  for (auto* a = static_cast<const nlattr*>(mnl_attr_get_payload(nest));
       mnl_attr_ok(a, static_cast<int>(tail - reinterpret_cast<const char*>(a)));
       a = mnl_attr_next(a))
    fn(a);
}

}  // namespace xdplb::net
