// Per-op profile of the graphs the trainer runs (DOCTUNE_PROFILE=1, or dt_trainer_set_profile): the
// scheduler hands every node to an eval callback, so each node is computed on its own and timed. This costs
// a little per node (one graph launch each), so it is off unless asked for; the totals show which ops a
// step spends its time in, by op and by op with its operand types and shapes.
#include "trainer_internal.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

static double now_us() {
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// "MUL_MAT q8_0[288,768] x f32[288,512]" (non-contiguous operands marked with *)
static std::string describe_node(const ggml_tensor * n) {
    // DocTune's CPU kernels are custom ops named after what they do; an in-place GEMM's operands follow
    // its accumulator
    const bool custom = n->op == GGML_OP_CUSTOM;
    const int first = custom && strcmp(n->name, "GEMM+=") == 0 ? 1 : 0;
    std::string s = custom ? n->name : ggml_op_desc(n);
    for (int i = first; i < first + 2 && n->src[i]; i++) {
        const ggml_tensor * a = n->src[i];
        char buf[96];
        snprintf(buf, sizeof(buf), "%s%s%s[%lld,%lld,%lld,%lld]", i > first ? " x " : " ", ggml_type_name(a->type), ggml_is_contiguous(a) ? "" : "*",
                 (long long) a->ne[0], (long long) a->ne[1], (long long) a->ne[2], (long long) a->ne[3]);
        s += buf;
    }
    return s;
}

static bool on_node(ggml_tensor * n, bool ask, void * user) {
    dt_profile & p = *(dt_profile *) user;
    if (ask) {
        p.started = now_us();
        return true;
    }
    const double us = now_us() - p.started;
    dt_profile_entry & byop = p.by_op[n->op == GGML_OP_CUSTOM ? (strncmp(n->name, "GEMM", 4) == 0 ? "GEMM" : n->name) : ggml_op_desc(n)];
    byop.count++; byop.us += us;
    dt_profile_entry & byshape = p.by_shape[describe_node(n)];
    byshape.count++; byshape.us += us;
    p.total_us += us;
    return true;
}

void dt_profile_attach(dt_trainer * t) {
    if (t->profile.on) ggml_backend_sched_set_eval_callback(t->sched, on_node, &t->profile);
}

void dt_profile_set(dt_trainer * t, bool on) {
    t->profile.on = on;
    if (t->sched) ggml_backend_sched_set_eval_callback(t->sched, on ? on_node : nullptr, on ? &t->profile : nullptr);
}

std::string dt_profile_report(const dt_profile & p, int top) {
    std::string out;
    char line[256];
    auto table = [&](const char * title, const std::map<std::string, dt_profile_entry> & m) {
        std::vector<std::pair<std::string, dt_profile_entry>> rows(m.begin(), m.end());
        std::sort(rows.begin(), rows.end(), [](const auto & a, const auto & b) { return a.second.us > b.second.us; });
        snprintf(line, sizeof(line), "%-8s %7s %10s  %s\n", "share", "calls", "ms", title);
        out += line;
        for (int i = 0; i < (int) rows.size() && i < top; i++) {
            snprintf(line, sizeof(line), "%6.1f%%  %7lld %10.1f  %s\n", p.total_us > 0 ? 100.0 * rows[i].second.us / p.total_us : 0.0,
                     (long long) rows[i].second.count, rows[i].second.us / 1000.0, rows[i].first.c_str());
            out += line;
        }
    };
    table("op", p.by_op);
    table("op and operands", p.by_shape);
    return out;
}
