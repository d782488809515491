"""A repository of cc_library targets wrapping libraries installed from Debian's packages.

Each target carries the link flags pkg-config reports for its modules, so the flag lists follow
the installed versions instead of being kept by hand. Headers live in /usr/include, which the
auto-configured C++ toolchain already searches.
"""

def _system_libs_impl(ctx):
    pkg_config = ctx.which("pkg-config")
    if pkg_config == None:
        fail("pkg-config is not installed: run tools/bootstrap.sh first")
    rules = ['package(default_visibility = ["//visibility:public"])', ""]
    for name, modules in sorted(ctx.attr.libraries.items()):
        result = ctx.execute([pkg_config, "--libs"] + modules.split(" "))
        if result.return_code != 0:
            fail("pkg-config --libs %s failed for @%s//:%s: %s (run tools/bootstrap.sh)" %
                 (modules, ctx.name, name, result.stderr))
        linkopts = [flag for flag in result.stdout.strip().split(" ") if flag]
        rules.append("cc_library(\n    name = %r,\n    linkopts = %r,\n)\n" % (name, linkopts))
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    ctx.file("BUILD.bazel", "\n".join(rules))

system_libs = repository_rule(
    implementation = _system_libs_impl,
    attrs = {
        "libraries": attr.string_dict(
            doc = "target name -> space-separated pkg-config module names",
            mandatory = True,
        ),
    },
    environ = ["PKG_CONFIG_PATH"],
    local = True,
)
