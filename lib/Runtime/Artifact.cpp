//===- Artifact.cpp - Loading ahead-of-time compiled hssm functions -------===//

#include "hssm/Runtime/Artifact.h"
#include "hssm/Runtime/Cuda.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include <cstring>
#include <fstream>

using namespace hssm;

static const char packedPrefix[] = "hssm_packed_";
static const char signaturePrefix[] = "hssm_signature_";

Artifact::Artifact(std::string path, std::shared_ptr<void> handle)
    : path(std::move(path)), handle(std::move(handle)) {}

Artifact::~Artifact() = default;

static std::string lastDlError() {
  const char *e = dlerror();
  return e ? e : "unknown dynamic loader error";
}

Status Artifact::load(const std::string &path, std::unique_ptr<Artifact> &out) {
  // Errors recorded before belong to someone else; after dlopen, what is
  // recorded comes from the artifact's constructors (its module loads).
  (void)cuda::takeError();
  dlerror();
  void *raw = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!raw)
    return Status::error("hssm artifact: cannot load '" + path +
                         "': " + lastDlError());
  std::shared_ptr<void> handle(raw, [](void *h) { dlclose(h); });
  if (Status s = cuda::takeError(); !s.ok()) {
    handle.reset();
    // Unloading runs the destructors, which may record more of the same.
    (void)cuda::takeError();
    return Status::error("hssm artifact: loading '" + path +
                         "' failed: " + s.message());
  }
  out.reset(new Artifact(path, std::move(handle)));
  return Status::success();
}

Status Artifact::function(const std::string &name, Invoker &out) const {
  using Entry = void (*)(void **);
  std::string packedName = packedPrefix + name;
  std::string signatureName = signaturePrefix + name;
  dlerror();
  void *entrySym = dlsym(handle.get(), packedName.c_str());
  void *signatureSym = dlsym(handle.get(), signatureName.c_str());
  if (!entrySym || !signatureSym)
    return Status::error("hssm artifact: no function '" + name + "' in '" +
                         path + "' (missing symbol '" +
                         (entrySym ? signatureName : packedName) + "')");

  std::vector<ArgSpec> specs;
  if (Status s = parseSignature(static_cast<const char *>(signatureSym), specs);
      !s.ok())
    return Status::error("hssm artifact: function '" + name + "' in '" + path +
                         "': " + s.message());

  Entry entry = reinterpret_cast<Entry>(entrySym);
  std::shared_ptr<void> keepLoaded = handle;
  out = [entry, specs, name, keepLoaded](const std::vector<Arg> &args) {
    PackedArgs packed;
    if (Status s = packArguments(name, specs, args, packed); !s.ok())
      return Status::error("hssm artifact: " + s.message());
    (void)cuda::takeError();
    entry(packed.pointers.data());
    // A CPU artifact records nothing, so this is success for it.
    if (Status s = cuda::takeError(); !s.ok())
      return Status::error("hssm artifact: function '" + name +
                           "': " + s.message());
    return Status::success();
  };
  return Status::success();
}

/// Reads `count` bytes at `offset` of `file` into `out`.
static bool readAt(std::ifstream &file, uint64_t offset, size_t count,
                   void *out) {
  file.seekg(static_cast<std::streamoff>(offset));
  file.read(static_cast<char *>(out), static_cast<std::streamsize>(count));
  return static_cast<bool>(file);
}

std::vector<std::string> Artifact::functions() const {
  // dlopen keeps no symbol list we could walk without parsing the hash
  // tables, so read the defined symbols of the file's .dynsym instead.
  std::vector<std::string> names;
  struct link_map *map = nullptr;
  if (dlinfo(handle.get(), RTLD_DI_LINKMAP, &map) != 0 || !map || !map->l_name)
    return names;
  std::ifstream file(map->l_name, std::ios::binary);
  Elf64_Ehdr header;
  if (!file || !readAt(file, 0, sizeof(header), &header) ||
      std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
      header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_shentsize != sizeof(Elf64_Shdr))
    return names;
  std::vector<Elf64_Shdr> sections(header.e_shnum);
  if (!readAt(file, header.e_shoff, sections.size() * sizeof(Elf64_Shdr),
              sections.data()))
    return names;
  for (const Elf64_Shdr &section : sections) {
    if (section.sh_type != SHT_DYNSYM || section.sh_link >= sections.size() ||
        section.sh_entsize != sizeof(Elf64_Sym))
      continue;
    const Elf64_Shdr &strtab = sections[section.sh_link];
    std::vector<Elf64_Sym> symbols(section.sh_size / sizeof(Elf64_Sym));
    std::vector<char> strings(strtab.sh_size + 1, '\0');
    if (!readAt(file, section.sh_offset, symbols.size() * sizeof(Elf64_Sym),
                symbols.data()) ||
        !readAt(file, strtab.sh_offset, strtab.sh_size, strings.data()))
      return names;
    const size_t prefixLength = sizeof(packedPrefix) - 1;
    for (const Elf64_Sym &symbol : symbols) {
      if (symbol.st_shndx == SHN_UNDEF || symbol.st_name >= strtab.sh_size)
        continue;
      const char *symbolName = strings.data() + symbol.st_name;
      if (std::strncmp(symbolName, packedPrefix, prefixLength) == 0)
        names.push_back(symbolName + prefixLength);
    }
  }
  return names;
}
