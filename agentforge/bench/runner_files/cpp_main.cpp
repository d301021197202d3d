// The grader's entry point for C++ exercises. The exercise's own main is compiled as
// agentforge_tested_main (-Dmain=...), and this main reports that it returned: a static
// initializer or an exit() that ends the process early leaves no completion line.
#include <cstdio>

int agentforge_tested_main() __attribute__((weak));
int agentforge_tested_main(int, char**) __attribute__((weak));

int main(int argc, char** argv) {
    int (*with_args)(int, char**) = agentforge_tested_main;
    int (*without_args)() = agentforge_tested_main;
    int code;
    if (with_args) {
        code = with_args(argc, argv);
    } else if (without_args) {
        code = without_args();
    } else {
        std::puts("agentforge: the tests define no main");
        return 3;
    }
    std::printf("\nagentforge-cpp-tests-finished %d\n", code);
    std::fflush(stdout);
    return code;
}
