-- functions: statements both backends run unchanged, one block per name. Parameters are :named (the PostgreSQL
-- driver turns them into %(named)s); sql/<backend>/functions.sql holds the statements that differ.

-- name: add_function
INSERT INTO functions (functionid, colonyname, executorname, executortype, funcname, description, args, locationname)
VALUES (:functionid, :colonyname, :executorname, :executortype, :funcname, :description, :args, :locationname);

-- name: get_function
SELECT * FROM functions WHERE functionid = :functionid;

-- name: get_function_by_name
SELECT * FROM functions WHERE colonyname = :colonyname AND executorname = :executorname AND funcname = :funcname;

-- name: get_functions
SELECT * FROM functions WHERE colonyname = :colonyname AND (:executorname = '' OR executorname = :executorname)
ORDER BY executorname, funcname;

-- name: remove_function
DELETE FROM functions WHERE functionid = :functionid;

-- name: remove_executor_functions
DELETE FROM functions WHERE colonyname = :colonyname AND executorname = :executorname;
