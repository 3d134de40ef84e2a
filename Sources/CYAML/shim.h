#ifndef SLUICE_CYAML_SHIM_H
#define SLUICE_CYAML_SHIM_H
// libyaml (Debian's libyaml-dev), the YAML 1.1 parser under Sluice's configuration reader.
#include <yaml.h>
#endif
