//===- Args.cpp - Checking and packing arguments of compiled functions ----===//

#include "hssm/Runtime/Args.h"

#include <cstdlib>

using namespace hssm;

const char *hssm::elemName(Elem e) {
  switch (e) {
  case Elem::F32: return "f32";
  case Elem::F16: return "f16";
  case Elem::BF16: return "bf16";
  case Elem::I32: return "i32";
  case Elem::I8: return "i8";
  case Elem::I64: return "i64";
  }
  return "?";
}

static std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") +
         (shape[i] < 0 ? std::string("?") : std::to_string(shape[i]));
  return s + "]";
}

std::string hssm::formatSignature(const std::vector<ArgSpec> &specs) {
  std::string s;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (i)
      s += ";";
    if (!specs[i].isBuffer) {
      s += "i";
      continue;
    }
    s += std::string("m:") + elemName(specs[i].elem) + ":";
    for (size_t d = 0; d < specs[i].shape.size(); ++d)
      s += (d ? "x" : "") + (specs[i].shape[d] < 0
                                 ? std::string("?")
                                 : std::to_string(specs[i].shape[d]));
  }
  return s;
}

Status hssm::parseSignature(const std::string &text,
                            std::vector<ArgSpec> &specs) {
  specs.clear();
  if (text.empty())
    return Status::success();
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(';', pos);
    if (end == std::string::npos)
      end = text.size();
    std::string item = text.substr(pos, end - pos);
    ArgSpec spec;
    if (item == "i") {
      specs.push_back(spec);
    } else if (item.rfind("m:", 0) == 0) {
      size_t colon = item.find(':', 2);
      if (colon == std::string::npos)
        return Status::error("bad signature item '" + item + "'");
      std::string elem = item.substr(2, colon - 2);
      bool found = false;
      for (Elem e : {Elem::F32, Elem::F16, Elem::BF16, Elem::I32, Elem::I8,
                     Elem::I64})
        if (elem == elemName(e)) {
          spec.elem = e;
          found = true;
        }
      if (!found)
        return Status::error("bad element type '" + elem + "' in signature");
      spec.isBuffer = true;
      std::string dims = item.substr(colon + 1);
      size_t p = 0;
      while (p < dims.size()) {
        size_t x = dims.find('x', p);
        if (x == std::string::npos)
          x = dims.size();
        std::string d = dims.substr(p, x - p);
        spec.shape.push_back(d == "?" ? -1 : std::atoll(d.c_str()));
        p = x + 1;
      }
      specs.push_back(spec);
    } else {
      return Status::error("bad signature item '" + item + "'");
    }
    pos = end + 1;
  }
  return Status::success();
}

Status hssm::packArguments(const std::string &fn,
                           const std::vector<ArgSpec> &specs,
                           const std::vector<Arg> &args, PackedArgs &packed) {
  if (args.size() != specs.size())
    return Status::error("'" + fn + "' takes " + std::to_string(specs.size()) +
                         " arguments, got " + std::to_string(args.size()));
  size_t fields = 0;
  for (const ArgSpec &spec : specs)
    fields += spec.isBuffer ? 3 + 2 * spec.shape.size() : 1;
  packed.storage.assign(fields, 0);
  packed.pointers.assign(fields, nullptr);
  size_t next = 0;
  auto push = [&](int64_t v) {
    packed.storage[next] = v;
    packed.pointers[next] = &packed.storage[next];
    ++next;
  };

  for (size_t i = 0; i < args.size(); ++i) {
    const ArgSpec &spec = specs[i];
    std::string where = "argument " + std::to_string(i) + " of '" + fn + "'";
    if (!spec.isBuffer) {
      if (!std::holds_alternative<int64_t>(args[i]))
        return Status::error(where + " is an integer, got a buffer");
      push(std::get<int64_t>(args[i]));
      continue;
    }
    if (!std::holds_alternative<Buffer>(args[i]))
      return Status::error(where + " is a buffer, got an integer");
    const Buffer &buf = std::get<Buffer>(args[i]);
    if (buf.elem != spec.elem)
      return Status::error(where + " holds " + elemName(spec.elem) +
                           ", got " + elemName(buf.elem));
    if (buf.shape.size() != spec.shape.size())
      return Status::error(where + " has rank " +
                           std::to_string(spec.shape.size()) +
                           ", got shape " + shapeString(buf.shape));
    int64_t elems = 1;
    for (size_t d = 0; d < buf.shape.size(); ++d) {
      if (buf.shape[d] < 0 || (spec.shape[d] >= 0 && spec.shape[d] != buf.shape[d]))
        return Status::error(where + " must have shape " +
                             shapeString(spec.shape) + ", got " +
                             shapeString(buf.shape));
      elems *= buf.shape[d];
    }
    if (!buf.data && elems != 0)
      return Status::error(where + " has no data pointer");
    push(reinterpret_cast<intptr_t>(buf.data));
    push(reinterpret_cast<intptr_t>(buf.data));
    push(0);
    for (int64_t size : buf.shape)
      push(size);
    std::vector<int64_t> strides(buf.shape.size());
    int64_t stride = 1;
    for (size_t d = buf.shape.size(); d-- > 0;) {
      strides[d] = stride;
      stride *= buf.shape[d];
    }
    for (int64_t s : strides)
      push(s);
  }
  return Status::success();
}
