--[[
job_submit.lua: the logic of job_submit/cyclecloud for sites that already
use job_submit/lua (JobSubmitPlugins=lua; Slurm runs the job_submit.lua found
beside slurm.conf).  Merge these functions into the site's own script.

For each new job whose partitions are all cloud HPC partitions, unless the
user asked for --switches or the job's --network holds "sn_single", ask for
one switch: topology.conf (ccslurmctl generate) has one switch per Azure
placement group, so the job's nodes share one InfiniBand fabric.  Jobs for
any other partition are left exactly as submitted; job_modify changes
nothing.

The cloud HPC partitions are read from "cyclecloud-hpc-partitions" beside
slurm.conf (one a line, '#' comments, a trailing '*' marks the default),
which "ccslurmctl generate" writes.  A job that names no partition counts
for Slurm's default partition (from part_list), else for the one the file
marks with '*'.
--]]

local CONF_DIR = "/etc/slurm"	-- when SLURM_CONF is not set

local function hpc_partitions_path()
	local conf = os.getenv("SLURM_CONF")
	if conf ~= nil and conf ~= "" then
		local dir = conf:match("^(.*)/[^/]*$")
		if dir ~= nil then
			if dir == "" then dir = "/" end
			return dir .. "/cyclecloud-hpc-partitions"
		end
	end
	return CONF_DIR .. "/cyclecloud-hpc-partitions"
end

-- The set of cloud HPC partitions and the one marked default (or nil).
-- Read on each submission: the file is a few lines, and a regenerated list
-- then takes effect at once.  An unreadable file gives an empty set, so no
-- job is changed.
local function load_hpc_partitions()
	local set, marked = {}, nil
	local f = io.open(hpc_partitions_path(), "r")
	if f == nil then
		return set, nil
	end
	for line in f:lines() do
		line = line:gsub("^%s+", ""):gsub("%s+$", "")
		if line ~= "" and line:sub(1, 1) ~= "#" then
			local name, star = line:match("^(.-)(%*?)$")
			if name ~= "" then
				set[name] = true
				if star == "*" and marked == nil then
					marked = name
				end
			end
		end
	end
	f:close()
	return set, marked
end

local function default_partition(part_list, marked)
	if part_list ~= nil then
		for name, part in pairs(part_list) do
			if part.flag_default == 1 then
				return part.name or name
			end
		end
	end
	return marked
end

-- Are all of the job's partitions ("hpc" or "hpc,onprem") cloud HPC ones?
local function job_is_cloud_hpc(partition, part_list)
	local set, marked = load_hpc_partitions()
	if partition == nil or partition == "" then
		partition = default_partition(part_list, marked)
		if partition == nil then
			return false
		end
	end
	local any = false
	for name in partition:gmatch("[^,]+") do
		if not set[name] then
			return false
		end
		any = true
	end
	return any
end

function slurm_job_submit(job_desc, part_list, submit_uid)
	if job_desc.req_switch ~= nil and job_desc.req_switch ~= slurm.NO_VAL then
		return slurm.SUCCESS	-- the user chose --switches
	end
	if job_desc.network ~= nil and
	    string.find(job_desc.network, "sn_single", 1, true) then
		return slurm.SUCCESS
	end
	if job_is_cloud_hpc(job_desc.partition, part_list) then
		job_desc.req_switch = 1
	end
	return slurm.SUCCESS
end

function slurm_job_modify(job_desc, job_rec, part_list, modify_uid)
	return slurm.SUCCESS
end

return slurm.SUCCESS
