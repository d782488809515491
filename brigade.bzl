"""Bazel macros to build brigaded and brigade-filter with your own modules.

    load("//:brigade.bzl", "brigaded_binary", "brigade_filter_binary")

    cc_library(
        name = "hello",
        srcs = ["hello.cc"],        # defines a Module and says BRIGADE_MODULE(HelloModule);
        deps = ["//module"],
        alwayslink = True,          # keeps BRIGADE_MODULE's registration in the binary
    )

    brigaded_binary(name = "my_brigaded", modules = [":hello"])
    brigade_filter_binary(name = "my_brigade_filter", modules = [":hello"])

See docs/MODULES.md.
"""

def brigaded_binary(name, modules = [], **kwargs):
    """brigaded with the built-in modules and `modules` (cc_library targets, alwayslink)."""
    native.cc_binary(
        name = name,
        deps = ["//server:brigaded_main"] + modules,
        **kwargs
    )

def brigade_filter_binary(name, modules = [], **kwargs):
    """brigade-filter over the built-in filters and those `modules` register."""
    native.cc_binary(
        name = name,
        deps = ["//server:brigade_filter_main"] + modules,
        **kwargs
    )
