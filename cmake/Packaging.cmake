# cmake/Packaging.cmake: what `cmake --install` puts where, beyond the
# programs (client/, daemon/ and plugin/ install their own targets), and the
# CPack .deb and .rpm built from it.
#
#     cmake -S . -B build-pkg -DCMAKE_INSTALL_PREFIX=/usr
#     cmake --build build-pkg -j2 && cd build-pkg && cpack -G "DEB;RPM"
#
# Paths of the installed tree (docs/interfaces: /usr/sbin/ccslurmd, ...) hold
# for the prefix /usr, which packages use.  Another prefix (/usr/local for a
# hand install) moves everything but /etc/ccslurmd, the spool, the state and
# the socket, whose places are built into the programs.  packaging/ccslurmd.spec
# is the same layout for native RHEL rebuilds; tests/packaging checks both.

# ---- Where things go -----------------------------------------------------
# systemd, tmpfiles.d and bash-completion all also search /usr/local, so a
# /usr/local install works without telling them.
set(CCSLURMD_SYSTEMD_UNITDIR "${CMAKE_INSTALL_PREFIX}/lib/systemd/system"
	CACHE PATH "Where the systemd units are installed")
set(CCSLURMD_TMPFILESDIR "${CMAKE_INSTALL_PREFIX}/lib/tmpfiles.d"
	CACHE PATH "Where the tmpfiles.d(5) snippet is installed")
set(CCSLURMD_BASH_COMPLETIONDIR
	"${CMAKE_INSTALL_FULL_DATADIR}/bash-completion/completions"
	CACHE PATH "Where the bash completion of ccslurmctl is installed")
get_filename_component(CCSLURMD_CONFDIR "${CCSLURMD_CONFIG_PATH}" DIRECTORY)
set(CCSLURMD_DATADIR "${CMAKE_INSTALL_DATADIR}/ccslurmd")

# ---- systemd units and tmpfiles ------------------------------------------
# systemd/ holds units that are valid as they stand (for the default build);
# the installed ones carry this build's paths.  Literal replacement instead
# of @VAR@ templates keeps the source files usable and verifiable as is.
set(_ccs_unit_subst
	"/usr/sbin/ccslurmd" "${CMAKE_INSTALL_FULL_SBINDIR}/ccslurmd"
	"/etc/ccslurmd/ccslurmd.yaml" "${CCSLURMD_CONFIG_PATH}"
	"/run/ccslurmd/ccslurmd.sock" "${CCSLURMD_SOCKET_PATH}"
	"/var/spool/ccslurmd" "${CCSLURMD_SPOOL_DIR}"
	"/var/lib/ccslurmd" "${CCSLURMD_STATE_DIR}")
function(_ccs_configure_unit src dst)
	file(READ "${src}" _text)
	set(_pairs ${_ccs_unit_subst})
	while(_pairs)
		list(POP_FRONT _pairs _from _to)
		string(REPLACE "${_from}" "${_to}" _text "${_text}")
	endwhile()
	file(CONFIGURE OUTPUT "${dst}" CONTENT "${_text}" @ONLY)
	set_property(DIRECTORY "${CMAKE_SOURCE_DIR}" APPEND PROPERTY
		CMAKE_CONFIGURE_DEPENDS "${src}")
endfunction()
if(NOT CCSLURMD_SOCKET_PATH MATCHES "^/run/ccslurmd/")
	message(WARNING "CCSLURMD_SOCKET_PATH is outside /run/ccslurmd: "
		"the unit's RuntimeDirectory= and the socket's DirectoryMode= "
		"no longer cover it; write a drop-in for the units")
endif()
set(_ccs_gen "${CMAKE_BINARY_DIR}/packaging")
foreach(_f ccslurmd.service ccslurmd.socket ccslurmd.tmpfiles)
	_ccs_configure_unit("${CMAKE_SOURCE_DIR}/systemd/${_f}" "${_ccs_gen}/${_f}")
endforeach()
install(FILES "${_ccs_gen}/ccslurmd.service" "${_ccs_gen}/ccslurmd.socket"
	DESTINATION "${CCSLURMD_SYSTEMD_UNITDIR}")
install(FILES "${_ccs_gen}/ccslurmd.tmpfiles"
	DESTINATION "${CCSLURMD_TMPFILESDIR}" RENAME ccslurmd.conf)

# ---- Configuration and shared data ---------------------------------------
# The example configuration is the conffile (dpkg and rpm keep an admin's
# changes).  It holds no secret (the password lives elsewhere,
# docs/security.md), so 0644: the daemon's user must read it, and CPack
# cannot give a file the group slurm.
install(FILES "${CMAKE_SOURCE_DIR}/etc/ccslurmd.yaml"
	DESTINATION "${CCSLURMD_CONFDIR}"
	PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES "${CMAKE_SOURCE_DIR}/etc/job_submit.lua"
	DESTINATION "${CCSLURMD_DATADIR}")
install(DIRECTORY "${CMAKE_SOURCE_DIR}/etc/cyclecloud" USE_SOURCE_PERMISSIONS
	DESTINATION "${CCSLURMD_DATADIR}")
install(FILES "${CMAKE_SOURCE_DIR}/client/completion/ccslurmctl.bash"
	DESTINATION "${CCSLURMD_BASH_COMPLETIONDIR}" RENAME ccslurmctl)
file(GLOB _ccs_docs CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/docs/*.md")
list(FILTER _ccs_docs EXCLUDE REGEX "/development\\.md$")
install(FILES "${CMAKE_SOURCE_DIR}/README.md" ${_ccs_docs}
	DESTINATION "${CMAKE_INSTALL_DOCDIR}")

# ---- Manual pages ----------------------------------------------------------
# Compressed as Debian policy and rpm's brp-compress both want; gzip -n
# leaves no time stamp in, so rebuilds are byte-identical.
set(CCSLURMD_MAN_PAGES ccslurmctl.1 ccslurmd.yaml.5 ccslurmd.8
	ccslurm-resume.8 ccslurm-suspend.8 ccslurm-resumefail.8)
find_program(GZIP_EXECUTABLE gzip REQUIRED)
set(_ccs_man_gz "")
foreach(_page ${CCSLURMD_MAN_PAGES})
	string(REGEX REPLACE ".*\\.([0-9])$" "\\1" _sect "${_page}")
	set(_src "${CMAKE_SOURCE_DIR}/man/${_page}")
	set(_gz "${CMAKE_BINARY_DIR}/man/${_page}.gz")
	add_custom_command(OUTPUT "${_gz}"
		COMMAND "${CMAKE_COMMAND}" -E make_directory
			"${CMAKE_BINARY_DIR}/man"
		COMMAND sh -c "'${GZIP_EXECUTABLE}' -9n -c '${_src}' > '${_gz}'"
		DEPENDS "${_src}"
		COMMENT "Compressing man/${_page}" VERBATIM)
	list(APPEND _ccs_man_gz "${_gz}")
	install(FILES "${_gz}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man${_sect}")
endforeach()
add_custom_target(ccslurmd-man ALL DEPENDS ${_ccs_man_gz})

# ---- CPack: .deb and .rpm --------------------------------------------------
# The Slurm the plugin is built for: slurmctld refuses a plugin of another
# major.minor (plugin_version), and a controller whose slurmctld will not
# start is worse than a package that will not install.
set(_ccs_slurm_min "22.05")
set(_ccs_slurm_next "")
if(SLURM_INCLUDE_DIR AND EXISTS "${SLURM_INCLUDE_DIR}/slurm/slurm_version.h")
	# SLURM_VERSION_NUMBER 0x160508 is 22.05.8.
	file(STRINGS "${SLURM_INCLUDE_DIR}/slurm/slurm_version.h" _v
		REGEX "^#define SLURM_VERSION_NUMBER +0x[0-9a-fA-F]+")
	string(REGEX MATCH "0x[0-9a-fA-F]+" _v "${_v}")
	if(_v)
		math(EXPR _maj "(${_v} >> 16) & 255")
		math(EXPR _min "(${_v} >> 8) & 255")
		math(EXPR _min_next "${_min} + 1")
		foreach(_n _min _min_next)
			if(${_n} LESS 10)
				set(${_n} "0${${_n}}")
			endif()
		endforeach()
		set(_ccs_slurm_min "${_maj}.${_min}")
		set(_ccs_slurm_next "${_maj}.${_min_next}")
	endif()
endif()

set(CPACK_PACKAGE_NAME "ccslurmd")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "ccslurmd")
set(CPACK_PACKAGE_CONTACT "ccslurmd maintainers <ccslurmd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
	"Slurm power-saving bridge to Azure CycleCloud")
set(CPACK_PACKAGE_DESCRIPTION "ccslurmd lets an on-premises Slurm controller \
burst nodes into Azure CycleCloud: thin ResumeProgram/SuspendProgram/\
ResumeFailProgram shims hand hostlists to a daemon that holds the CycleCloud \
session, batches cloud calls, tells Slurm node addresses and repairs drift. \
Includes the job_submit/cyclecloud plugin and the ccslurmctl admin tool.")
# Absolute destinations (/etc, units, the plugin dir) need DESTDIR staging;
# without it CPack would install them into this machine's /etc.
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGE_RELOCATABLE OFF)
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_STRIP_FILES OFF)
set(CPACK_GENERATOR "")
find_program(DPKG_DEB_EXECUTABLE dpkg-deb)
find_program(RPMBUILD_EXECUTABLE rpmbuild)
if(DPKG_DEB_EXECUTABLE)
	list(APPEND CPACK_GENERATOR DEB)
endif()
if(RPMBUILD_EXECUTABLE)
	list(APPEND CPACK_GENERATOR RPM)
endif()
if(NOT CPACK_GENERATOR)
	set(CPACK_GENERATOR TGZ)
endif()
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
	message(STATUS "ccslurmd packages: CMAKE_INSTALL_PREFIX is "
		"${CMAKE_INSTALL_PREFIX}; configure with "
		"-DCMAKE_INSTALL_PREFIX=/usr for .deb/.rpm")
endif()

# Debian.  Library dependencies come from dpkg-shlibdeps (exact package
# names and versions of this build's libraries); Slurm's by hand.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/ccslurmd/ccslurmd")
find_program(DPKG_SHLIBDEPS_EXECUTABLE dpkg-shlibdeps)
if(DPKG_SHLIBDEPS_EXECUTABLE)
	set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
endif()
set(CPACK_DEBIAN_PACKAGE_DEPENDS "slurm-client (>= ${_ccs_slurm_min})")
if(TARGET job_submit_cyclecloud AND _ccs_slurm_next)
	string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", slurmctld (>= "
		"${_ccs_slurm_min}), slurmctld (<< ${_ccs_slurm_next})")
endif()
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "munge, systemd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
configure_file("${CMAKE_SOURCE_DIR}/packaging/debian-scripts/conffiles.in"
	"${_ccs_gen}/deb/conffiles" @ONLY)
foreach(_s postinst prerm postrm)
	configure_file("${CMAKE_SOURCE_DIR}/packaging/debian-scripts/${_s}"
		"${_ccs_gen}/deb/${_s}" COPYONLY)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${_ccs_gen}/deb/conffiles"
	"${_ccs_gen}/deb/postinst" "${_ccs_gen}/deb/prerm"
	"${_ccs_gen}/deb/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# RPM.  RHEL package names, as a native build's spec declares them
# (packaging/ccslurmd.spec); automatic soname dependencies are off because
# this .rpm is built on Debian, against Debian's libraries.
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_LICENSE "Proprietary")
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_PACKAGE_URL "${CPACK_DEBIAN_PACKAGE_HOMEPAGE}")
set(CPACK_RPM_PACKAGE_AUTOREQ OFF)
set(CPACK_RPM_PACKAGE_AUTOPROV OFF)
set(CPACK_RPM_PACKAGE_REQUIRES "glibc, libevent, libcurl, json-c, libyaml, \
systemd-libs, slurm >= ${_ccs_slurm_min}")
if(TARGET job_submit_cyclecloud AND _ccs_slurm_next)
	string(APPEND CPACK_RPM_PACKAGE_REQUIRES ", slurm-slurmctld >= "
		"${_ccs_slurm_min}, slurm-slurmctld < ${_ccs_slurm_next}")
endif()
set(CPACK_RPM_PACKAGE_REQUIRES_POST "systemd")
set(CPACK_RPM_PACKAGE_REQUIRES_PREUN "systemd")
set(CPACK_RPM_PACKAGE_REQUIRES_POSTUN "systemd")
# CPackRPM marks every file installed to an absolute destination %config;
# naming a file here with a harmless directive keeps it a plain file.
set(CPACK_RPM_USER_FILELIST "%config(noreplace) ${CCSLURMD_CONFIG_PATH}"
	"%attr(-,root,root) ${CCSLURMD_SYSTEMD_UNITDIR}/ccslurmd.service"
	"%attr(-,root,root) ${CCSLURMD_SYSTEMD_UNITDIR}/ccslurmd.socket"
	"%attr(-,root,root) ${CCSLURMD_TMPFILESDIR}/ccslurmd.conf"
	"%attr(-,root,root) ${CCSLURMD_BASH_COMPLETIONDIR}/ccslurmctl")
if(TARGET ccslurm-resume)
	list(APPEND CPACK_RPM_USER_FILELIST
		"%attr(-,root,root) ${CCSLURMD_LIBEXECDIR}/ccslurm-resume")
endif()
if(TARGET job_submit_cyclecloud)
	list(APPEND CPACK_RPM_USER_FILELIST
		"%attr(-,root,root) ${SLURM_PLUGIN_DIR}/job_submit_cyclecloud.so")
endif()
# Directories other packages own are not claimed.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
	/etc /usr/lib/systemd /usr/lib/systemd/system /usr/lib/tmpfiles.d
	/usr/libexec /usr/sbin /usr/share/bash-completion
	/usr/share/bash-completion/completions /usr/share/man /usr/share/man/man1
	/usr/share/man/man5 /usr/share/man/man8 /usr/lib64 /usr/lib64/slurm
	/usr/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/slurm-wlm)
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE
	"${CMAKE_SOURCE_DIR}/packaging/rpm-scripts/post")
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE
	"${CMAKE_SOURCE_DIR}/packaging/rpm-scripts/preun")
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE
	"${CMAKE_SOURCE_DIR}/packaging/rpm-scripts/postun")
# No /usr/lib/.build-id links: they would clash with the debuginfo of
# whatever else ships the same build ids, and this package has no -debuginfo.
set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none
%define debug_package %{nil}")

include(CPack)
