# Compiler flags shared by every target: warnings, warnings-as-errors, sanitizers, fuzzing.

set(MBX_WARNINGS -Wall -Wextra -Wshadow -Wpointer-arith -Wcast-align -Wwrite-strings
	-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla -Wundef
	-Wimplicit-fallthrough -Wno-unused-parameter)
add_compile_options(${MBX_WARNINGS} -fno-strict-aliasing)
if(MBX_WERROR)
	add_compile_options(-Werror)
endif()

if(MBX_SANITIZE OR MBX_FUZZ)
	# UB is a failure, not a message: no recovery, so the test that hit it fails.
	set(MBX_SAN_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
		-fno-omit-frame-pointer)
	add_compile_options(${MBX_SAN_FLAGS})
	add_link_options(-fsanitize=address,undefined)
endif()

if(MBX_FUZZ AND NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
	message(FATAL_ERROR "MBX_FUZZ=ON needs clang (libFuzzer): configure with CC=clang")
endif()
