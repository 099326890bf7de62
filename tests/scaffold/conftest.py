# Files of a module that exists only in the scaffold test's copy of the project.
collect_ignore = ["second_module"]
