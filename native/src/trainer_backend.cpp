// Devices: ggml's backend libraries (built with GGML_BACKEND_DL, as node-llama-cpp ships them) are opened
// here, the best CPU variant for this processor and any GPU backend whose runtime is present. The step runs
// on one device; a scheduler with the CPU behind it would catch an op the device lacks, and every graph run
// counts such fallbacks so that tests can assert there are none.
#include "trainer_internal.h"

#include "ggml-cpu.h"

#include <algorithm>
#include <iterator>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#ifdef _WIN32
#include <windows.h>
static void * dl_open(const std::string & p) { return (void *) LoadLibraryA(p.c_str()); }
static void * dl_sym(void * h, const char * s) { return (void *) GetProcAddress((HMODULE) h, s); }
static void dl_close(void * h) { FreeLibrary((HMODULE) h); }
static std::string dl_error() { return "error " + std::to_string(GetLastError()); }
#else
#include <dirent.h>
#include <dlfcn.h>
static void * dl_open(const std::string & p) { return dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL); }
static void * dl_sym(void * h, const char * s) { return dlsym(h, s); }
static void dl_close(void * h) { dlclose(h); }
static std::string dl_error() { const char * e = dlerror(); return e ? e : "unknown error"; }
#endif

static std::vector<std::string> list_dir(const std::string & dir) {
    std::vector<std::string> names;
#ifdef _WIN32
    WIN32_FIND_DATAA fd;
    HANDLE h = FindFirstFileA((dir + "\\*").c_str(), &fd);
    if (h == INVALID_HANDLE_VALUE) return names;
    do names.push_back(fd.cFileName); while (FindNextFileA(h, &fd));
    FindClose(h);
#else
    if (DIR * d = opendir(dir.c_str())) {
        while (dirent * e = readdir(d)) names.push_back(e->d_name);
        closedir(d);
    }
#endif
    std::sort(names.begin(), names.end());
    return names;
}

static bool is_library(const std::string & name) {
    for (const char * ext : { ".so", ".dll", ".dylib" }) {
        const size_t n = strlen(ext);
        if (name.size() > n && name.compare(name.size() - n, n, ext) == 0) return true;
    }
    return false;
}

// Backend libraries stay loaded and registered for the life of the process (ggml keeps global state in
// them); opening one twice would initialise it twice.
struct dt_registry {
    std::mutex mu;
    std::map<std::string, ggml_backend_reg_t> regs;  // library path -> registration (null: failed)
    std::map<std::string, std::string> errors;       // library path -> why it could not be used
};
static dt_registry & registry() {
    static dt_registry r;
    return r;
}

static ggml_backend_reg_t open_backend(const std::string & path, std::string & why) {
    dt_registry & r = registry();
    auto it = r.regs.find(path);
    if (it != r.regs.end()) { why = r.errors[path]; return it->second; }
    ggml_backend_reg_t reg = nullptr;
    void * h = dl_open(path);
    if (!h) {
        why = dl_error();
    } else if (auto init = (ggml_backend_reg_t (*)(void)) dl_sym(h, "ggml_backend_init")) {
        reg = init();
        if (!reg) why = "the backend did not initialise";
    } else {
        why = "not a ggml backend library";
    }
    r.regs[path] = reg;
    r.errors[path] = why;
    return reg;
}

// The CPU variant with the highest score for this processor (0 = unsupported instruction set).
static ggml_backend_reg_t open_cpu(const std::vector<std::string> & dirs, std::string & why) {
    std::string best;
    int best_score = 0;
    for (const std::string & dir : dirs) {
        for (const std::string & name : list_dir(dir)) {
            if (name.find("ggml-cpu") == std::string::npos || !is_library(name)) continue;
            const std::string path = dir + "/" + name;
            void * h = dl_open(path);
            if (!h) continue;
            auto score_fn = (int (*)(void)) dl_sym(h, "ggml_backend_score");
            const int score = score_fn ? score_fn() : 1;
            if (score > best_score) { best_score = score; best = path; }
            dl_close(h);
        }
    }
    if (best.empty()) { why = "no usable ggml CPU backend in the backend folders"; return nullptr; }
    return open_backend(best, why);
}

struct dt_found_device {
    ggml_backend_dev_t dev;
    std::string backend;   // registry name: CPU, CUDA, Vulkan, Metal
};

// GPU devices of every GPU backend library found, in the order auto prefers: CUDA, Vulkan, Metal.
static std::vector<dt_found_device> open_gpus(const std::vector<std::string> & dirs, std::string & notes) {
    std::vector<dt_found_device> found;
    for (const char * kind : { "cuda", "vulkan", "metal" }) {
        bool have_kind = false; // the first library of a kind that works wins (e.g. CUDA 13, then a CUDA 12 fallback)
        for (const std::string & dir : dirs) {
            for (const std::string & name : list_dir(dir)) {
                if (have_kind) break;
                if (name.find(std::string("ggml-") + kind) == std::string::npos || !is_library(name)) continue;
                std::string why;
                ggml_backend_reg_t reg = open_backend(dir + "/" + name, why);
                if (!reg) {
                    notes += std::string(notes.empty() ? "" : "; ") + kind + " unavailable (" + why + ")";
                    continue;
                }
                int n = 0;
                for (size_t i = 0; i < ggml_backend_reg_dev_count(reg); i++) {
                    ggml_backend_dev_t dev = ggml_backend_reg_dev_get(reg, i);
                    const auto type = ggml_backend_dev_type(dev);
                    if (type != GGML_BACKEND_DEVICE_TYPE_GPU && type != GGML_BACKEND_DEVICE_TYPE_IGPU) continue;
                    found.push_back({ dev, ggml_backend_reg_name(reg) });
                    n++;
                }
                if (n == 0) notes += std::string(notes.empty() ? "" : "; ") + kind + ": no device found";
                have_kind = n > 0;
            }
        }
    }
    return found;
}

static void describe(ggml_backend_dev_t dev, const std::string & backend, dt_device_info * out) {
    memset(out, 0, sizeof(*out));
    snprintf(out->backend, sizeof(out->backend), "%s", backend.c_str());
    snprintf(out->name, sizeof(out->name), "%s", ggml_backend_dev_name(dev));
    snprintf(out->description, sizeof(out->description), "%s", ggml_backend_dev_description(dev));
    size_t free = 0, total = 0;
    ggml_backend_dev_memory(dev, &free, &total);
    out->memory_free = free;
    out->memory_total = total;
}

static std::string lower(std::string s) {
    for (char & c : s) c = (char) tolower((unsigned char) c);
    return s;
}

// The device choices, in one list: the check below and dt_device_choices() read it.
static const std::string DEVICE_CHOICES[] = { "auto", "cpu", "cuda", "vulkan", "metal" };

const char * dt_device_choices(void) {
    static const std::string list = [] {
        std::string out;
        for (const std::string & d : DEVICE_CHOICES) out += (out.empty() ? "" : ",") + d;
        return out;
    }();
    return list.c_str();
}

bool dt_open_device(dt_trainer * t, const char * const * dirs_in, int n_dirs, const char * device, int n_threads, bool ggml_matmul) {
    std::lock_guard<std::mutex> lock(registry().mu);
    std::vector<std::string> dirs(dirs_in, dirs_in + n_dirs);
    const std::string want = lower(device && *device ? device : "auto");
    if (std::find(std::begin(DEVICE_CHOICES), std::end(DEVICE_CHOICES), want) == std::end(DEVICE_CHOICES)) {
        return fail(t, "unknown device \"" + want + "\" (auto, cpu, cuda, vulkan or metal)"), false;
    }
    std::string why;
    ggml_backend_reg_t cpu_reg = open_cpu(dirs, why);
    if (!cpu_reg || ggml_backend_reg_dev_count(cpu_reg) == 0) return fail(t, why.empty() ? "the CPU backend has no device" : why), false;
    t->cpu = ggml_backend_dev_init(ggml_backend_reg_dev_get(cpu_reg, 0), nullptr);
    if (!t->cpu) return fail(t, "cannot start the CPU backend"), false;
    if (auto set_threads = (ggml_backend_set_n_threads_t) ggml_backend_reg_get_proc_address(cpu_reg, "ggml_backend_set_n_threads")) {
        set_threads(t->cpu, n_threads > 0 ? n_threads : 1);
    }
    // Without a threadpool of its own, the CPU backend starts and joins its threads for every graph (three
    // a step); a persistent one keeps them, polling briefly between graphs before they sleep.
    auto tp_new = (ggml_threadpool_t (*)(ggml_threadpool_params *)) ggml_backend_reg_get_proc_address(cpu_reg, "ggml_threadpool_new");
    auto tp_set = (void (*)(ggml_backend_t, ggml_threadpool_t)) ggml_backend_reg_get_proc_address(cpu_reg, "ggml_backend_cpu_set_threadpool");
    t->threadpool_free = (void (*)(ggml_threadpool_t)) ggml_backend_reg_get_proc_address(cpu_reg, "ggml_threadpool_free");
    if (n_threads > 1 && tp_new && tp_set && t->threadpool_free) {
        ggml_threadpool_params tpp = ggml_threadpool_params_default(n_threads);
        t->threadpool = tp_new(&tpp);
        if (t->threadpool) tp_set(t->cpu, t->threadpool);
    }

    if (want != "cpu") {
        std::string notes;
        std::vector<dt_found_device> gpus = open_gpus(dirs, notes);
        const dt_found_device * pick = nullptr;
        for (const auto & g : gpus) {
            if (want == "auto" || lower(g.backend) == want) { pick = &g; break; }
        }
        if (!pick && want != "auto") {
            t->notes = "no " + want + " device" + (notes.empty() ? "" : ": " + notes) + (gpus.empty() ? "; using the CPU" : "; using " + gpus[0].backend);
            if (!gpus.empty()) pick = &gpus[0];
        } else if (!pick && !notes.empty()) {
            t->notes = notes + "; using the CPU";
        }
        if (pick) {
            t->backend = ggml_backend_dev_init(pick->dev, nullptr);
            if (t->backend) {
                t->dev = pick->dev;
                t->backend_kind = pick->backend;
            } else {
                t->notes += std::string(t->notes.empty() ? "" : "; ") + "cannot start " + ggml_backend_dev_name(pick->dev) + "; using the CPU";
            }
        }
    }
    if (!t->backend) {
        t->backend = t->cpu;
        t->dev = ggml_backend_get_device(t->cpu);
        t->backend_kind = "CPU";
    }
    t->backend_name = ggml_backend_name(t->backend);
    t->cpu_matmul = t->backend == t->cpu && !ggml_matmul && dt_cpu_matmul_available();
    return true;
}

bool dt_make_scheduler(dt_trainer * t) {
    ggml_backend_t backends[2] = { t->backend, t->cpu };
    const int n = t->backend == t->cpu ? 1 : 2;
    // A layer's forward and backward take ~250 nodes (~300 with the portable backward ops).
    t->graph_size = 2048 + (size_t) t->n_layer * 1024;
    t->sched = ggml_backend_sched_new(backends, nullptr, n, t->graph_size, false, false);
    t->sched_measure = ggml_backend_sched_new(backends, nullptr, n, t->graph_size, false, false);
    if (!t->sched || !t->sched_measure) return fail(t, "cannot create the graph scheduler"), false;
    dt_profile_attach(t);
    return true;
}

// Splits and nodes the device could not take (they run on the CPU, with copies to and from the device).
void dt_count_fallbacks(dt_trainer * t, ggml_cgraph * gf, bool model_graph) {
    if (model_graph) t->last_splits = ggml_backend_sched_get_n_splits(t->sched);
    int n = 0;
    for (int i = 0; i < ggml_graph_n_nodes(gf); i++) {
        ggml_tensor * node = ggml_graph_node(gf, i);
        if (ggml_is_empty(node) || node->op == GGML_OP_NONE || node->op == GGML_OP_VIEW || node->op == GGML_OP_RESHAPE ||
            node->op == GGML_OP_PERMUTE || node->op == GGML_OP_TRANSPOSE) continue;
        if (ggml_backend_sched_get_tensor_backend(t->sched, node) != t->backend) n++;
    }
    if (model_graph) t->last_fallbacks = n;
    t->max_fallbacks = std::max(t->max_fallbacks, n);
}

void dt_describe_device(const dt_trainer * t, dt_device_info * out) {
    describe(t->dev, t->backend_kind, out);
}

int dt_list_devices_impl(const char * const * dirs_in, int n_dirs, dt_device_info * out, int max, char * notes_out, size_t notes_len) {
    std::lock_guard<std::mutex> lock(registry().mu);
    std::vector<std::string> dirs(dirs_in, dirs_in + n_dirs);
    std::string notes, why;
    std::vector<dt_found_device> devs = open_gpus(dirs, notes);
    if (ggml_backend_reg_t cpu = open_cpu(dirs, why)) {
        if (ggml_backend_reg_dev_count(cpu) > 0) devs.push_back({ ggml_backend_reg_dev_get(cpu, 0), "CPU" });
    } else {
        notes += std::string(notes.empty() ? "" : "; ") + why;
    }
    if (notes_out && notes_len) snprintf(notes_out, notes_len, "%s", notes.c_str());
    int n = 0;
    for (const auto & d : devs) {
        if (n >= max) break;
        describe(d.dev, d.backend, &out[n++]);
    }
    return n;
}

// Allocates the graph in the scheduler's buffers, lets the caller set its inputs, and computes it.
bool dt_compute(dt_trainer * t, ggml_cgraph * gf, const std::function<void()> & set_inputs, bool model_graph) {
    if (getenv("DOCTUNE_DEBUG_OPS")) {
        for (int i = 0; i < ggml_graph_n_nodes(gf); i++) {
            ggml_tensor * n = ggml_graph_node(gf, i);
            if (!ggml_backend_supports_op(t->backend, n)) {
                fprintf(stderr, "doctune: %s cannot run %s %s [%lld,%lld,%lld,%lld] src0 %s src1 %s\n", t->backend_name.c_str(), ggml_op_desc(n), ggml_type_name(n->type),
                        (long long) n->ne[0], (long long) n->ne[1], (long long) n->ne[2], (long long) n->ne[3],
                        n->src[0] ? ggml_type_name(n->src[0]->type) : "-", n->src[1] ? ggml_type_name(n->src[1]->type) : "-");
                if (n->src[1]) fprintf(stderr, "  src1 op %s name %s flags %d\n", ggml_op_desc(n->src[1]), n->src[1]->name, n->src[1]->flags);
            }
        }
    }
    ggml_backend_sched_reset(t->sched);
    if (!ggml_backend_sched_alloc_graph(t->sched, gf)) return fail(t, "out of memory on " + t->backend_name + " for the step (lower --batch or --seq)"), false;
    dt_count_fallbacks(t, gf, model_graph);
    set_inputs();
    if (ggml_backend_sched_graph_compute(t->sched, gf) != GGML_STATUS_SUCCESS) return fail(t, "graph computation failed on " + t->backend_name), false;
    return true;
}
