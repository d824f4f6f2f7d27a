# Installs the suite where administrators' scripts expect the originals.
#   make install                      -> /sbin/ipvsadm, /usr/sbin/mon, ...
#   make install DESTDIR=/tmp/stage   -> staged, e.g. for packaging
#   make install PREFIX=/usr/local    -> everything that is not path-pinned
#                                        by scripts moves under /usr/local
PREFIX      ?= /usr
SBINDIR     ?= /sbin
BINDIR      ?= $(PREFIX)/bin
USRSBINDIR  ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
HALIBDIR    ?= $(PREFIX)/lib/heartbeat
HALIBEXEC   ?= $(PREFIX)/libexec/heartbeat
MONLIBDIR   ?= $(PREFIX)/lib/mon
HARESDIR    ?= /etc/ha.d/resource.d
CARGO       ?= cargo
RELEASE     := target/release

INSTALL     := install -D

.PHONY: all build install test demo
all build:
	$(CARGO) build --release --workspace --bins

test:
	./lab/test-all

demo:
	./lab/demo

# Binaries that are absent (a component not built yet) are skipped with a
# note rather than failing the whole install.
define inst
	@if [ -f $(RELEASE)/$(1) ]; then \
	  $(INSTALL) -m 0755 $(RELEASE)/$(1) $(DESTDIR)$(2)/$(3) && echo "installed $(DESTDIR)$(2)/$(3)"; \
	else echo "skipped $(1): not built"; fi
endef

install: build
	$(call inst,ipvsadm,$(SBINDIR),ipvsadm)
	$(call inst,ipvsadm-save,$(SBINDIR),ipvsadm-save)
	$(call inst,ipvsadm-restore,$(SBINDIR),ipvsadm-restore)
	$(call inst,send_arp,$(HALIBDIR),send_arp)
	$(call inst,heartbeat,$(HALIBEXEC),heartbeat)
	$(call inst,hb_standby,$(HALIBDIR),hb_standby)
	$(call inst,hb_takeover,$(HALIBDIR),hb_takeover)
	$(call inst,cl_status,$(BINDIR),cl_status)
	$(call inst,mon,$(USRSBINDIR),mon)
	$(call inst,moncmd,$(BINDIR),moncmd)
	$(call inst,monshow,$(BINDIR),monshow)
	$(call inst,mon-scripts,$(MONLIBDIR)/bin,mon-scripts)
	@# The shipped monitors and alerts are one binary answering to the
	@# original names (mon-scripts(8)); the links point at the final path,
	@# not the staging one.
	@if [ -f $(RELEASE)/mon-scripts ]; then \
	  for n in fping.monitor http.monitor tcp.monitor; do \
	    mkdir -p $(DESTDIR)$(MONLIBDIR)/mon.d; ln -sfn $(MONLIBDIR)/bin/mon-scripts $(DESTDIR)$(MONLIBDIR)/mon.d/$$n; done; \
	  for n in lvs.alert mail.alert file.alert test.alert; do \
	    mkdir -p $(DESTDIR)$(MONLIBDIR)/alert.d; ln -sfn $(MONLIBDIR)/bin/mon-scripts $(DESTDIR)$(MONLIBDIR)/alert.d/$$n; done; fi
	@# IPaddr/IPaddr2 sit beside the daemon, which runs them in-process when
	@# the resource script is a link to them (heartbeat(8)); resource.d
	@# gets links, as the originals' wrappers live there.
	$(call inst,IPaddr,$(HALIBEXEC),IPaddr)
	$(call inst,IPaddr2,$(HALIBEXEC),IPaddr2)
	@for n in IPaddr IPaddr2; do \
	  if [ -f $(RELEASE)/$$n ]; then mkdir -p $(DESTDIR)$(HARESDIR); \
	    ln -sfn $(HALIBEXEC)/$$n $(DESTDIR)$(HARESDIR)/$$n; fi; done
	@$(INSTALL) -m 0755 heartbeat-rs/dist/heartbeat.init $(DESTDIR)/etc/init.d/heartbeat
	@$(INSTALL) -m 0644 heartbeat-rs/dist/heartbeat.service $(DESTDIR)$(PREFIX)/lib/systemd/system/heartbeat.service
	@for m in man/*.[1-8]; do \
	  [ -f "$$m" ] || continue; s=$${m##*.}; \
	  $(INSTALL) -m 0644 "$$m" "$(DESTDIR)$(MANDIR)/man$$s/$${m##*/}"; \
	done
