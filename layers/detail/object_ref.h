#pragma once
// Internal: a handle to a shared, immutable polymorphic object (initializer,
// regularizer, constraint) that can be given as a Keras string id or an
// object, and converts to/from the Keras envelope {"class_name", "config"}.
// Base must provide: class_name(), get_config(), static registry().

#include <memory>
#include <string>

#include "lamina/layers/config.h"

namespace lamina::detail {

template <class Base>
class ObjectRef {
 public:
  ObjectRef() = default;
  ObjectRef(std::nullptr_t) {}
  ObjectRef(std::shared_ptr<const Base> p) : ptr_(std::move(p)) {}
  template <class D>
    requires std::is_base_of_v<Base, D>
  ObjectRef(std::shared_ptr<D> p) : ptr_(std::move(p)) {}
  template <class D>
    requires std::is_base_of_v<Base, D>
  ObjectRef(const D& obj) : ptr_(std::make_shared<D>(obj)) {}
  ObjectRef(const char* id) : ObjectRef(std::string(id)) {}
  ObjectRef(const std::string& id) : ptr_(id.empty() ? nullptr : Base::registry().create(id, Config())) {}

  explicit operator bool() const { return ptr_ != nullptr; }
  const Base* get() const { return ptr_.get(); }
  const Base& operator*() const { return *ptr_; }
  const Base* operator->() const { return ptr_.get(); }

  ConfigValue to_config_value() const {
    if (!ptr_) return ConfigValue();
    Config c;
    c.set("class_name", ptr_->class_name()).set("config", ptr_->get_config());
    return c;
  }
  static ObjectRef from_config_value(const ConfigValue& v) {
    if (v.is_null()) return {};
    if (auto* s = std::get_if<std::string>(&v.value)) return ObjectRef(*s);
    auto* c = std::get_if<Config>(&v.value);
    LAMINA_CHECK(c != nullptr, ValueError, "[config] expected a string or {class_name, config}, got ", v.str());
    return ObjectRef(std::const_pointer_cast<const Base>(
        Base::registry().create(c->get<std::string>("class_name"), c->get_or<Config>("config", Config()))));
  }
  friend bool operator==(const ObjectRef& a, const ObjectRef& b) {
    return a.to_config_value() == b.to_config_value();
  }

 private:
  std::shared_ptr<const Base> ptr_;
};

}  // namespace lamina::detail
